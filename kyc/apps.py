from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"
    verbose_name = "KYC sessions and risk"

    def ready(self) -> None:
        from kyc.reactions import (
            rescore_on_connections,
            rescore_on_customers,
            rescore_on_screening,
        )
        from kycregistry import events

        events.subscribe(events.CustomersWritten, rescore_on_customers)
        events.subscribe(events.ConnectionsChanged, rescore_on_connections)
        events.subscribe(events.ScreeningHitsFound, rescore_on_screening)
        events.subscribe(events.ScreeningHitsReviewed, rescore_on_screening)
        events.subscribe(events.ScreeningHitsRemoved, rescore_on_screening)
