from rest_framework import serializers

from imports.models import BulkUpload
from kycregistry.api.fields import IsoMillisDateTimeField


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class BulkUploadSerializer(serializers.ModelSerializer):
    attempt = serializers.IntegerField(
        help_text="1 for the first run; + 1 each time the job was restarted after its "
        "worker stopped (at most KYC_JOB_MAX_ATTEMPTS)."
    )
    fileName = serializers.CharField(source="file_name")
    totalRows = serializers.IntegerField(source="total_rows")
    processedRows = serializers.IntegerField(source="processed_rows")
    committedRows = serializers.IntegerField(
        source="committed_rows",
        help_text="Rows whose customers are committed (batch by batch, from the top of "
        "the file): what a job that fails keeps. A row's connections are committed with "
        "the batch of the last row of the file they name (its own, or a later one).",
    )
    phase = serializers.ChoiceField(
        choices=["", "reading", "writing_customers", "writing_connections", "done"],
        help_text="Where the job is: reading (the file), writing_customers (validating and "
        "committing customers and their connections batch by batch), done; empty while "
        "queued for the first time. writing_connections: a job of an earlier release that "
        "stopped while writing the connections of its file after all its customers.",
    )
    createdCount = serializers.IntegerField(source="created_count")
    updatedCount = serializers.IntegerField(source="updated_count")
    unchangedCount = serializers.IntegerField(source="unchanged_count")
    skippedCount = serializers.IntegerField(source="skipped_count")
    rowErrors = RowErrorSerializer(source="row_errors", many=True)
    createdAt = IsoMillisDateTimeField(source="created_at")
    startedAt = IsoMillisDateTimeField(source="started_at")
    finishedAt = IsoMillisDateTimeField(source="finished_at")

    class Meta:
        model = BulkUpload
        fields = [
            "id",
            "status",
            "attempt",
            "fileName",
            "totalRows",
            "processedRows",
            "committedRows",
            "phase",
            "createdCount",
            "updatedCount",
            "unchangedCount",
            "skippedCount",
            "rowErrors",
            "message",
            "createdAt",
            "startedAt",
            "finishedAt",
        ]
        read_only_fields = fields


class BulkUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The filled .xlsx template.")
