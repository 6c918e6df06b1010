import factory

from tests.factories import OrganisationFactory
from webhooks.models import Endpoint


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Endpoint

    organisation = factory.SubFactory(OrganisationFactory)
    url = "https://hooks.example.com/kyc"
    events = factory.LazyFunction(lambda: ["*"])
