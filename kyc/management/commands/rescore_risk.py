from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kyc.services import rescoring_start
from organisations.audit import Channel, audit_context
from organisations.models import Organisation


class Command(BaseCommand):
    help = (
        "Rescore every customer of an organisation with its risk rules in force, now, in "
        "this process (e.g. once after deploying risk scoring, for customers that predate it)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organisation", required=True, help="The organisation's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(slug=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation with slug {options['organisation']}")
        with audit_context(channel=Channel.COMMAND):
            job = rescoring_start(organisation=organisation)
        self.stdout.write(
            f"Rescored {job.processed} customer(s) of {organisation.slug} with rules version "
            f"{job.rules_version}: {job.changed_levels} changed level ({job.status})."
        )
