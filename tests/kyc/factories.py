import factory

from kyc.models import Session, SessionStatus


class SessionFactory(factory.django.DjangoModelFactory):
    """Pass customer=; written straight to the table (no rescoring): tests call the
    services when they need the reactions."""

    class Meta:
        model = Session

    organisation = factory.LazyAttribute(lambda o: o.customer.organisation)
    status = SessionStatus.CREATED
