from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"

    def ready(self) -> None:
        from kycregistry import events
        from screening.reactions import rescreen_on_connection_change, rescreen_on_customer_change

        events.subscribe(events.CustomersWritten, rescreen_on_customer_change)
        events.subscribe(events.ConnectionsChanged, rescreen_on_connection_change)
