"""Watchlists an organisation imports, their entries, the index used to find candidate
entries for a name, and the hits screening records for review."""

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.tasks import TaskResult

from kycregistry.jobs import Job, JobStatus
from organisations.audit import AuditedHistoricalRecords
from organisations.querysets import OrganisationQuerySet


def watchlist_upload_path(instance: Any, filename: str) -> str:
    # Never the client's file name on disk: it is shown, not trusted.
    return f"watchlists/{uuid.uuid4().hex}.dat"


WatchlistStatus = JobStatus


class Watchlist(Job):
    """A named list of sanctioned persons, PEPs, … of one organisation. Each upload of
    the same name is a new version: its entries replace the previous ones, matched by
    their source id, and the counts say what was added, changed and removed. The
    import of the latest upload is a job (status, message, attempt, lease:
    kycregistry/jobs.py): a worker that dies mid-import leaves it to be restarted."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        on_delete=models.CASCADE,
        related_name="watchlists",
        db_index=False,  # (organisation, name) leads every lookup
    )
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=0, help_text="Imported versions so far.")
    entry_count = models.PositiveIntegerField(default=0)
    added_count = models.PositiveIntegerField(default=0)
    changed_count = models.PositiveIntegerField(default=0)
    removed_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(
        default=0, help_text="Records of other schemas (Sanction, Address, …) in the last file."
    )
    line_errors = models.JSONField(default=list, blank=True)
    file = models.FileField(upload_to=watchlist_upload_path, max_length=255, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "organisations.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords(
        excluded_fields=["line_errors", "file", "lease_expires_at", "task_id"],
        no_db_index=["organisation", "uploaded_by", "api_key"],
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="watchlist_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def enqueue_task(self) -> TaskResult:
        from screening.tasks import import_watchlist

        return import_watchlist.enqueue(watchlist_id=self.pk)


class WatchlistEntry(models.Model):
    """A person or company on a watchlist, as of the list's last version."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="entries")
    source_id = models.CharField(max_length=255)
    schema = models.CharField(max_length=20)
    name = models.CharField(max_length=500)
    aliases = models.JSONField(default=list, blank=True)
    birth_dates = models.JSONField(default=list, blank=True)
    countries = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)
    digest = models.CharField(max_length=32, help_text="Of the compared content: detects changes.")
    version = models.PositiveIntegerField(help_text="The list version that last changed it.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist", "source_id"], name="watchlistentry_unique_source"
            )
        ]
        verbose_name_plural = "watchlist entries"

    def __str__(self) -> str:
        return f"{self.name} ({self.source_id})"


class WatchlistKey(models.Model):
    """The candidate index: one row per (entry, match key) — the sound, soundex and
    consonant skeleton of each name token (screening.matching.token_keys). A name is
    compared only with the entries that share keys with it."""

    watchlist = models.ForeignKey(
        Watchlist, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    entry = models.ForeignKey(WatchlistEntry, on_delete=models.CASCADE, related_name="keys")
    key = models.CharField(max_length=40)
    name_tokens = models.PositiveSmallIntegerField(
        help_text="The fewest tokens of two letters or more in one of the entry's names."
    )

    class Meta:
        # Covering: candidate queries read the index only.
        indexes = [
            models.Index(
                fields=["key", "watchlist", "entry", "name_tokens"],
                name="watchlistkey_lookup_idx",
            )
        ]

    def __str__(self) -> str:
        return self.key


class HitStatus(models.TextChoices):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


SELF = "SELF"
DERIVED_UBO = "DERIVED_UBO"


class ScreeningHit(models.Model):
    """A party of a customer (the customer itself, role SELF, or a connected party)
    whose name matched a watchlist entry, for an analyst to confirm or dismiss."""

    organisation = models.ForeignKey(
        "organisations.Organisation", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="screening_hits"
    )
    party = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    role = models.CharField(max_length=20)
    entry = models.ForeignKey(WatchlistEntry, on_delete=models.CASCADE, related_name="hits")
    score = models.FloatField()
    explanation = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=HitStatus, default=HitStatus.OPEN)
    comment = models.TextField(blank=True)
    entry_digest = models.CharField(
        max_length=32, help_text="The entry's digest when the hit was last opened or reviewed."
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()
    history = AuditedHistoricalRecords(no_db_index=["organisation", "customer", "party", "entry"])

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "customer", "entry"], name="screeninghit_unique_party_entry"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=1), name="screeninghit_score_range"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status", "-score"], name="screeninghit_queue_idx")
        ]

    def __str__(self) -> str:
        return f"{self.party_id} ~ {self.entry_id} ({self.status})"
