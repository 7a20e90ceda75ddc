from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.response import Response

import access
from api.base import IDEMPOTENCY_KEY_PARAMETER, ActorMixin, operated_city
from api.idempotency import idempotent
from api.jobs import RecordedJobOutputSerializer
from common import clock
from jobs.services import job_enqueue
from uploads.models import CityUpload
from uploads.services import upload_open


class UploadOutputSerializer(RecordedJobOutputSerializer):
    trigger = serializers.CharField()
    as_of = serializers.DateTimeField()
    due_on = serializers.DateField(allow_null=True)


@extend_schema_view(
    get=extend_schema(
        summary="Uploads to the national platform (operators of the city)",
        description="The uploads of the cities the caller administers, newest first: scheduled, "
        "operator-started and sandbox ones, each with its status and progress. Other roles see "
        "an empty list. Filter by `status` and `trigger`.",
        tags=["jobs"],
    )
)
class UploadCollectionApi(ActorMixin, generics.ListAPIView):
    serializer_class = UploadOutputSerializer
    filterset_fields = ["status", "trigger"]

    class InputSerializer(serializers.Serializer):
        city = serializers.RegexField(r"^\d{6}$")

    def get_queryset(self):
        return access.city_owned_visible(
            self.actor, CityUpload.objects.select_related("city")
        ).order_by("-id")

    @extend_schema(
        summary="Upload a city's account data to the national platform now",
        description="Refreshes every person's snapshot, which the online channel shows. Answers 202 at "
        "once; the upload runs on a worker. A city without a public channel is refused (422 "
        "`NO_PUBLIC_CHANNEL`). Operators of the city and superusers only (403 "
        "`CITY_NOT_ADMINISTERED`; an unknown city 404).",
        tags=["jobs"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={202: UploadOutputSerializer},
        examples=[OpenApiExample("Hangzhou", value={"city": "330100"}, request_only=True)],
    )
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        city = operated_city(self.actor, data.validated_data["city"])
        upload, _ = upload_open(
            city=city, trigger=CityUpload.Trigger.OPERATOR, by=request.user, now=clock.now()
        )
        job_enqueue(upload)
        return Response(UploadOutputSerializer(upload).data, status=202)


@extend_schema_view(
    get=extend_schema(
        summary="One upload, with its progress",
        description="The upload's status, persons done of persons total, the time its figures "
        "are as of, how many times it ran and any error: poll it after starting an upload. "
        "Operators of the city; any other caller gets 404.",
        tags=["jobs"],
    )
)
class UploadDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = UploadOutputSerializer
    lookup_url_kwarg = "upload_id"

    def get_queryset(self):
        return access.city_owned_visible(self.actor, CityUpload.objects.select_related("city"))
