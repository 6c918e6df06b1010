import os
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from demo.data import load_demo
from organisations.audit import Channel, audit_context
from organisations.groups import COMPLIANCE_OFFICER
from organisations.models import ApiKey, Membership, Organisation, Scope
from organisations.services import api_key_create, api_key_revoke, organisation_create

DEMO_SLUG = "demo"
DEMO_NAME = "Demo Bank"
DEMO_USERNAME = "admin"
DEMO_KEY_NAME = "Demo key (seed_demo)"


class Command(BaseCommand):
    help = (
        "Load the demo organisation 'Demo Bank' (slug demo): customers, multi-level "
        "ownership, a staff login and an API key. Safe to run again. The API key is "
        "printed alone on the last line."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("KYC_DEMO_PASSWORD", "demo-admin-2026")
        base_url = os.environ.get("KYC_DEMO_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        try:
            with audit_context(channel=Channel.COMMAND), transaction.atomic():
                organisation = Organisation.objects.filter(
                    slug=DEMO_SLUG
                ).first() or organisation_create(name=DEMO_NAME, slug=DEMO_SLUG)
                summary = load_demo(organisation=organisation)
                self._staff_user(organisation, password)
                # The raw key is never stored, so a rerun cannot show the old one:
                # revoke it and issue a new one (one active demo key at a time).
                for old in ApiKey.objects.filter(
                    organisation=organisation, name=DEMO_KEY_NAME, revoked_at__isnull=True
                ):
                    api_key_revoke(api_key=old)
                _api_key, raw_key = api_key_create(
                    organisation=organisation, scopes=Scope.values, name=DEMO_KEY_NAME
                )
        except ValidationError as exc:
            raise CommandError(f"Demo data was refused: {'; '.join(exc.messages)}") from None

        self.stdout.write(
            f"Demo organisation: {organisation.name} (slug {organisation.slug}): "
            f"{summary.customers} customers ({summary.created} new), "
            f"{summary.connections} connections, {summary.approved} approved, "
            f"{summary.sessions} KYC sessions; risk: "
            + ", ".join(f"{n} {level}" for level, n in sorted((summary.levels or {}).items()))
            + "."
        )
        self.stdout.write(f"Admin:    {base_url}/admin/")
        self.stdout.write(f"Login:    {DEMO_USERNAME} / {password}")
        self.stdout.write(f"API docs: {base_url}/api/v1/docs/")
        self.stdout.write(
            "Demo API key (all scopes; shown once, earlier demo keys revoked). Try:\n"
            f'  curl -H "Authorization: Bearer <key>" {base_url}/api/v1/customers'
        )
        self.stdout.write(raw_key)

    def _staff_user(self, organisation: Organisation, password: str) -> User:
        """A staff member of the demo organisation (not a superuser: the login sees
        exactly what a compliance officer of the bank sees)."""
        user, _ = User.objects.get_or_create(username=DEMO_USERNAME)
        user.is_staff = True
        user.is_active = True
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(user=user, defaults={"organisation": organisation})
        user.groups.add(Group.objects.get(name=COMPLIANCE_OFFICER))
        user.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="organisations",
                codename__in=["view_apikey", "add_apikey", "change_apikey"],
            )
        )
        return user
