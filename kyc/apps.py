from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"
    verbose_name = "KYC sessions and risk"

    def ready(self) -> None:
        from kyc.reactions import rescore_on_connections, rescore_on_customers
        from kycregistry import events

        events.subscribe(events.CustomersWritten, rescore_on_customers)
        events.subscribe(events.ConnectionsChanged, rescore_on_connections)
