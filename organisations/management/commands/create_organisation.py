from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from organisations.audit import Channel, audit_context
from organisations.models import Organisation
from organisations.services import organisation_create


class Command(BaseCommand):
    help = "Create an organisation (tenant)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Display name, e.g. 'Demo Bank'.")
        parser.add_argument("--slug", required=True, help="Unique slug, e.g. 'demo'.")

    def handle(self, *args: Any, name: str, slug: str, **options: Any) -> None:
        if Organisation.objects.filter(slug=slug).exists():
            raise CommandError(f"An organisation with slug '{slug}' already exists.")
        try:
            with audit_context(channel=Channel.COMMAND):
                organisation = organisation_create(name=name, slug=slug)
        except ValidationError as exc:
            raise CommandError("; ".join(_messages(exc))) from None
        self.stdout.write(f"Created organisation {organisation.name} (slug {organisation.slug}).")


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {m}" for field, errs in exc.message_dict.items() for m in errs]
    return list(exc.messages)
