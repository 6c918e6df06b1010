from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "onboarding"

    def ready(self) -> None:
        from kycregistry import events
        from onboarding.kyb import kyb_recheck_changed

        events.subscribe(events.ConnectionsChanged, kyb_recheck_changed)
