from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from cards.models import EVoucher, SocialSecurityCard
from common.api import PRESENTED_CREDENTIAL_PARAMETER, ActorMixin
from users import access


class CardOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = SocialSecurityCard
        fields = [
            "id",
            "person",
            "number",
            "status",
            "site",
            "applied_at",
            "ready_on",
            "issued_at",
            "activated_at",
            "lost_at",
            "agent_name",
            "agent_resident_id",
            "replaces",
        ]


class EVoucherOutputSerializer(serializers.ModelSerializer):
    locked = serializers.SerializerMethodField()

    class Meta:
        model = EVoucher
        fields = [
            "id",
            "person",
            "status",
            "platform",
            "agreement",
            "agreement_accepted_at",
            "activated_at",
            "activated_at_institution",
            "code",
            "consecutive_failures",
            "locked_until",
            "locked",
        ]

    def get_locked(self, obj) -> bool:
        from common import clock

        return bool(obj.locked_until and obj.locked_until > clock.now())


class CardFilter(filters.FilterSet):
    class Meta:
        model = SocialSecurityCard
        fields = ["status", "site", "person", "number"]


class CardListApi(ActorMixin, generics.ListAPIView):
    serializer_class = CardOutputSerializer
    filterset_class = CardFilter

    def get_queryset(self):
        return access.person_owned_visible(
            self.actor, self.request, SocialSecurityCard.objects.order_by("-id")
        )

    @extend_schema(
        summary="Social security cards you may see",
        tags=["cards"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CardDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = CardOutputSerializer
    lookup_url_kwarg = "card_id"

    def get_queryset(self):
        return access.person_owned_visible(
            self.actor, self.request, SocialSecurityCard.objects.all()
        )

    @extend_schema(
        summary="One social security card",
        tags=["cards"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PersonEVoucherApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = EVoucherOutputSerializer

    def get_object(self):
        vouchers = access.person_owned_visible(self.actor, self.request, EVoucher.objects.all())
        return get_object_or_404(vouchers, person_id=self.kwargs["person_id"])

    @extend_schema(
        summary="A person's e-voucher",
        tags=["e-vouchers"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
