"""The API shape shared by recorded jobs (crediting runs, collections, uploads)."""

from rest_framework import serializers


class RecordedJobOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    city = serializers.CharField(source="city.code")
    status = serializers.CharField()
    items_total = serializers.IntegerField()
    items_done = serializers.IntegerField()
    progress_percent = serializers.IntegerField()
    executions = serializers.IntegerField()
    error = serializers.CharField()
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    request_id = serializers.CharField()
