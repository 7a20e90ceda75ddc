from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cards.error_codes import CardErrorCode
from cards.models import EVoucher, EVoucherAgreement, FaceAuthAttempt, SocialSecurityCard
from cards.services import (
    card_activate,
    card_apply,
    card_collect,
    card_replace,
    card_report_lost,
    evoucher_accept_agreement,
    evoucher_activate_at_pharmacy,
    evoucher_agreement_current,
    evoucher_face_authenticate,
)
from common.api import IDEMPOTENCY_KEY_PARAMETER, PRESENTED_CREDENTIAL_PARAMETER, ActorMixin
from common.errors import CommonErrorCode, ProblemError
from common.idempotency import idempotent
from persons.models import InsuredPerson
from users import access
from users.models import User


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


# --- Card flows (operators at the agency) ---------------------------------------------------


def _operated_card(actor, request, card_id: int) -> SocialSecurityCard:
    card = get_object_or_404(
        access.person_owned_visible(
            actor, request, SocialSecurityCard.objects.select_related("person")
        ),
        pk=card_id,
    )
    access.require_city(actor, card.person.city_id)
    return card


class AgentFieldsSerializer(serializers.Serializer):
    insured_resident_id = serializers.CharField(
        max_length=18, help_text="The insured person's ID, as presented at the counter."
    )
    agent_name = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    agent_resident_id = serializers.CharField(
        max_length=18,
        required=False,
        default="",
        allow_blank=True,
        help_text="An entrusted agent presents their own valid ID as well as the insured person's.",
    )
    site = serializers.ChoiceField(choices=SocialSecurityCard.Site.choices)


class CardApplyInputSerializer(AgentFieldsSerializer):
    person = serializers.IntegerField(min_value=1)


class CardCollectionApi(CardListApi):
    """GET lists the cards you may see; POST applies for one (operators of the person's city)."""

    @extend_schema(
        summary="Apply for a social security card",
        description="At the county centre the card is issued on the spot; at a street service point it is "
        "ready on the 3rd working day (weekends and Chinese public holidays do not count; official "
        "make-up working days do).",
        tags=["cards"],
        request=CardApplyInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CardOutputSerializer},
    )
    @idempotent
    def post(self, request):
        data = CardApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        person = get_object_or_404(
            access.persons_visible(self.actor, request), pk=values.pop("person")
        )
        access.require_city(self.actor, person.city_id)
        card = card_apply(person=person, by=request.user, **values)
        return Response(CardOutputSerializer(card).data, status=201)


class CardCollectApi(ActorMixin, APIView):
    @extend_schema(
        summary="Hand a ready card over to the person",
        tags=["cards"],
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=CardOutputSerializer,
    )
    @idempotent
    def post(self, request, card_id: int):
        card = card_collect(card=_operated_card(self.actor, request, card_id), by=request.user)
        return Response(CardOutputSerializer(card).data)


class CardActivateApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        pin = serializers.CharField(
            min_length=6, max_length=6, help_text="6 digits; stored hashed."
        )

    @extend_schema(
        summary="Activate an issued card at the counter (the person sets a PIN)",
        tags=["cards"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=CardOutputSerializer,
    )
    @idempotent
    def post(self, request, card_id: int):
        card = _operated_card(self.actor, request, card_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        card = card_activate(card=card, pin=data.validated_data["pin"], by=request.user)
        return Response(CardOutputSerializer(card).data)


class CardReportLostApi(ActorMixin, APIView):
    @extend_schema(
        summary="Report a card lost (the person themselves, or an operator of their city)",
        tags=["cards"],
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=CardOutputSerializer,
    )
    @idempotent
    def post(self, request, card_id: int):
        access.require_role(self.actor, User.Role.INSURED, User.Role.OPERATOR)
        card = get_object_or_404(
            access.person_owned_visible(
                self.actor, request, SocialSecurityCard.objects.select_related("person")
            ),
            pk=card_id,
        )
        if self.actor.is_operator:
            access.require_city(self.actor, card.person.city_id)
        card = card_report_lost(card=card, by=request.user)
        return Response(CardOutputSerializer(card).data)


class CardReplaceApi(ActorMixin, APIView):
    @extend_schema(
        summary="Replace a lost card",
        tags=["cards"],
        request=AgentFieldsSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CardOutputSerializer},
    )
    @idempotent
    def post(self, request, card_id: int):
        card = _operated_card(self.actor, request, card_id)
        data = AgentFieldsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_card = card_replace(card=card, by=request.user, **data.validated_data)
        return Response(CardOutputSerializer(new_card).data, status=201)


# --- E-voucher flows ----------------------------------------------------------------------


class AgreementOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = EVoucherAgreement
        fields = ["version", "title", "text", "effective_from"]


class CurrentAgreementApi(APIView):
    @extend_schema(
        summary="The e-voucher user agreement in force",
        tags=["e-vouchers"],
        responses=AgreementOutputSerializer,
    )
    def get(self, request):
        agreement = evoucher_agreement_current()
        if agreement is None:
            raise ProblemError(
                CardErrorCode.AGREEMENT_VERSION_NOT_CURRENT, "No agreement is in force."
            )
        return Response(AgreementOutputSerializer(agreement).data)


def _own_person(actor, request):
    access.require_role(actor, User.Role.INSURED)
    person = InsuredPerson.objects.filter(user_id=request.user.pk).first()
    if person is None:
        raise ProblemError(
            CommonErrorCode.NOT_FOUND, "This login is not linked to an insured person."
        )
    return person


class MyEVoucherAgreementApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        platform = serializers.ChoiceField(
            choices=[
                (value, label)
                for value, label in EVoucher.Platform.choices
                if value != EVoucher.Platform.PHARMACY
            ]
        )
        agreement_version = serializers.CharField(max_length=16)

    @extend_schema(
        summary="Activation, step 1: accept the current user agreement (WeChat, Alipay or the national app)",
        tags=["e-vouchers"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=EVoucherOutputSerializer,
    )
    @idempotent
    def post(self, request):
        person = _own_person(self.actor, request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = evoucher_accept_agreement(person=person, by=request.user, **data.validated_data)
        return Response(EVoucherOutputSerializer(voucher).data)


class MyFaceAuthenticationApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        sandbox_outcome = serializers.ChoiceField(
            choices=FaceAuthAttempt.Outcome.choices,
            required=False,
            help_text="Sandbox mode only: the outcome the simulated provider gives. Default PASS.",
        )

    class OutputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=FaceAuthAttempt.Outcome.choices)
        activated = serializers.BooleanField()
        attempts_left = serializers.IntegerField(
            help_text="Failures allowed before attempts are locked."
        )
        retry_after = serializers.IntegerField(
            allow_null=True, help_text="Seconds to wait before trying again."
        )
        evoucher = EVoucherOutputSerializer()

    @extend_schema(
        summary="Activation, step 2: face authentication (activates the e-voucher when it passes)",
        description="Every attempt is recorded and answered 201 with its outcome. Repeated failures "
        "lock attempts for a while (then 409 FACE_AUTH_LOCKED with Retry-After); a provider outage is "
        "not counted as the person's failure.",
        tags=["e-vouchers"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OutputSerializer},
    )
    @idempotent
    def post(self, request):
        person = _own_person(self.actor, request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = evoucher_face_authenticate(
            person=person, outcome=data.validated_data.get("sandbox_outcome"), by=request.user
        )
        response = Response(
            self.OutputSerializer(
                {
                    "outcome": result.attempt.outcome,
                    "activated": result.evoucher.status == EVoucher.Status.ACTIVATED,
                    "attempts_left": result.attempts_left,
                    "retry_after": result.retry_after,
                    "evoucher": result.evoucher,
                }
            ).data,
            status=201,
        )
        if result.retry_after:
            response["Retry-After"] = str(result.retry_after)
        return response


class PharmacyActivationApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        resident_id = serializers.CharField(
            max_length=18, help_text="Read from the person's ID card at the pharmacy."
        )

    @extend_schema(
        summary="Offline activation at a designated pharmacy (the pharmacy's terminal, after checking the ID)",
        tags=["e-vouchers"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=EVoucherOutputSerializer,
    )
    @idempotent
    def post(self, request):
        access.require_role(self.actor, User.Role.INSTITUTION)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = evoucher_activate_at_pharmacy(
            resident_id=data.validated_data["resident_id"],
            institution=request.user.institution,
            by=request.user,
        )
        return Response(EVoucherOutputSerializer(voucher).data)
