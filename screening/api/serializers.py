from typing import Any

from rest_framework import serializers

from kycregistry.api.fields import IsoMillisDateTimeField
from screening.models import ScreeningHit


class WatchlistSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    entryCount = serializers.IntegerField(source="entry_count")
    version = serializers.IntegerField()
    added = serializers.IntegerField(source="added_count")
    changed = serializers.IntegerField(source="changed_count")
    removed = serializers.IntegerField(source="removed_count")
    skipped = serializers.IntegerField(
        source="skipped_count", help_text="Records of other schemas in the last file."
    )
    lineErrors = serializers.ListField(
        source="line_errors", child=serializers.DictField(), help_text="{line, message}"
    )
    fileName = serializers.CharField(source="file_name")
    message = serializers.CharField()
    attempt = serializers.IntegerField(
        help_text="1 for the first run of the import; + 1 each time it was restarted after "
        "its worker stopped."
    )
    createdAt = IsoMillisDateTimeField(source="created_at")
    updatedAt = IsoMillisDateTimeField(source="updated_at")


class WatchlistUploadSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="An existing list's name uploads its next version.")
    file = serializers.FileField(
        help_text="FollowTheMoney JSON lines, or CSV with the header "
        "id,name,aliases,type,birthDate,countries,topics."
    )


class MatchedPartySerializer(serializers.Serializer):
    referenceId = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(
        help_text="SELF, a role held in the customer, <ROLE>_IN, DERIVED_UBO."
    )


class HitEntrySerializer(serializers.Serializer):
    watchlist = serializers.CharField()
    sourceId = serializers.CharField()
    schema = serializers.CharField()
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    birthDates = serializers.ListField(child=serializers.CharField())
    countries = serializers.ListField(child=serializers.CharField())
    topics = serializers.ListField(child=serializers.CharField())


class ScreeningHitSerializer(serializers.Serializer):
    """Needs the hit's party, entry and the entry's watchlist selected."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    score = serializers.FloatField()
    explanation = serializers.DictField()
    matchedParty = serializers.SerializerMethodField()
    entry = serializers.SerializerMethodField()
    comment = serializers.CharField()
    createdAt = IsoMillisDateTimeField(source="created_at")
    reviewedAt = IsoMillisDateTimeField(source="reviewed_at", allow_null=True)
    reviewedBy = serializers.SerializerMethodField()

    def get_matchedParty(self, hit: ScreeningHit) -> dict[str, Any]:
        return MatchedPartySerializer(
            {"referenceId": hit.party.reference_id, "name": hit.party.name, "role": hit.role}
        ).data

    def get_entry(self, hit: ScreeningHit) -> dict[str, Any]:
        entry = hit.entry
        return HitEntrySerializer(
            {
                "watchlist": entry.watchlist.name,
                "sourceId": entry.source_id,
                "schema": entry.schema,
                "name": entry.name,
                "aliases": entry.aliases,
                "birthDates": entry.birth_dates,
                "countries": entry.countries,
                "topics": entry.topics,
            }
        ).data

    def get_reviewedBy(self, hit: ScreeningHit) -> str | None:
        return hit.reviewed_by or None


class HitReviewSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["confirmed", "dismissed"])
    comment = serializers.CharField(required=False, help_text="Required to dismiss.")


class MonitorSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(
        choices=["daily", "weekly", "monthly"], required=False, default="daily"
    )


class MonitoringStateSerializer(serializers.Serializer):
    referenceId = serializers.CharField(source="reference_id")
    monitored = serializers.BooleanField()
    monitoringFrequency = serializers.SerializerMethodField()
    lastScreeningDate = IsoMillisDateTimeField(source="last_screening_date", allow_null=True)
    nextScreeningAt = IsoMillisDateTimeField(source="next_screening_at", allow_null=True)

    def get_monitoringFrequency(self, customer: Any) -> str | None:
        return customer.monitoring_frequency or None
