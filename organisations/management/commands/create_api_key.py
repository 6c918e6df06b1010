from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from organisations.audit import Channel, audit_context
from organisations.models import Organisation, Scope
from organisations.services import api_key_create, parse_scopes


class Command(BaseCommand):
    help = (
        "Create an API key for an organisation. The key is printed once, alone on the "
        "last line of stdout, and never stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", required=True, help="Organisation slug.")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated scopes: {','.join(Scope.values)}",
        )
        parser.add_argument("--name", default="API key", help="A name to recognise the key by.")

    def handle(self, *args: Any, organisation: str, scopes: str, name: str, **options: Any) -> None:
        org = Organisation.objects.filter(slug=organisation).first()
        if org is None:
            raise CommandError(f"Organisation '{organisation}' not found.")
        try:
            parsed = parse_scopes(scopes)
            with audit_context(channel=Channel.COMMAND):
                api_key, raw_key = api_key_create(organisation=org, scopes=parsed, name=name)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"Created API key '{api_key.name}' ({api_key.prefix}…) for {org.name} "
            f"with scopes {','.join(api_key.scopes)}. Store it now: it is not shown again."
        )
        self.stdout.write(raw_key)
