import itertools

import factory

from customers.models import AccountType, Customer, CustomerFieldDefinition
from organisations.models import Organisation
from relations.models import Connection, Role


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


# Distinct across factories (the model's random default collides in ~0.5% of 1,000 draws).
CLIENT_NUMBERS = itertools.count(10_000_000)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organisation = factory.SubFactory(OrganisationFactory)
    reference_id = factory.Sequence(lambda n: f"PER-{n:04d}")
    client_number = factory.LazyFunction(lambda: str(next(CLIENT_NUMBERS)))
    account_type = AccountType.PERSON
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    name = factory.LazyAttribute(lambda o: f"{o.given_name} {o.family_name}")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    organisation = factory.SubFactory(OrganisationFactory)
    reference_id = factory.Sequence(lambda n: f"COMP-{n:04d}")
    client_number = factory.LazyFunction(lambda: str(next(CLIENT_NUMBERS)))
    account_type = AccountType.COMPANY
    legal_name = factory.Sequence(lambda n: f"Company {n} Ltd")
    name = factory.LazyAttribute(lambda o: o.legal_name)


class FieldDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerFieldDefinition

    organisation = factory.SubFactory(OrganisationFactory)
    key = factory.Sequence(lambda n: f"field{n}")
    name = factory.LazyAttribute(lambda o: o.key.title())


class ConnectionFactory(factory.django.DjangoModelFactory):
    """Pass customer= and connected_customer= of one organisation."""

    class Meta:
        model = Connection

    organisation = factory.LazyAttribute(lambda o: o.customer.organisation)
    role = Role.SHAREHOLDER
