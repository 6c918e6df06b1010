from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from kycregistry import events
        from webhooks import outbox

        events.subscribe(events.CustomersWritten, outbox.on_customers_written)
        events.subscribe(events.ConnectionsChanged, outbox.on_connections_changed)
        events.subscribe(events.UploadCompleted, outbox.on_upload_completed)
        events.subscribe(events.ClientConnected, outbox.on_client_connected)
        events.subscribe(events.SessionsWritten, outbox.on_sessions_written)
        events.subscribe(events.RiskChanged, outbox.on_risk_changed)
        events.subscribe(events.ScreeningHitsFound, outbox.on_screening_hits_found)
