from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from api.base import IDEMPOTENCY_KEY_PARAMETER, PRESENTED_CREDENTIAL_PARAMETER, ActorMixin
from api.idempotency import idempotent
from cards.agreement_texts import in_current_language
from cards.error_codes import CardErrorCode
from cards.models import EVoucher, EVoucherAgreement, FaceAuthAttempt, SocialSecurityCard
from cards.services import (
    card_activate,
    card_activation_by_holder_refuse,
    card_apply,
    card_collect,
    card_replace,
    card_report_lost,
    evoucher_accept_agreement,
    evoucher_activate_at_pharmacy,
    evoucher_agreement_current,
    evoucher_face_authenticate,
    evoucher_presentation_code_issue,
)
from common import clock
from common.errors import CommonErrorCode, DomainError
from persons.models import InsuredPerson
from users.models import User
from users.throttles import PharmacyActivationThrottle


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


@extend_schema_view(
    get=extend_schema(
        summary="Social security cards you may see",
        description="Cards with their status (`PENDING` being made, `READY` for pick-up, "
        "`ISSUED` not activated, `ACTIVE`, `LOST`), site and dates, newest first. An insured "
        "person sees their own; a terminal those of the person presenting a card or e-voucher; "
        "an operator those of persons of their cities. Filter by `status`, `site`, `person` and "
        "`number`.",
        tags=["cards"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class CardListApi(ActorMixin, generics.ListAPIView):
    serializer_class = CardOutputSerializer
    filterset_class = CardFilter

    def get_queryset(self):
        return access.person_owned_visible(
            self.actor, self.request, SocialSecurityCard.objects.order_by("-id")
        )


@extend_schema_view(
    get=extend_schema(
        summary="One social security card",
        description="One card with its status, site, the day it is ready, its issue, activation "
        "and loss times, and the agent who applied for it, for whoever may see it (see the card "
        "list); anyone else gets 404.",
        tags=["cards"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class CardDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = CardOutputSerializer
    lookup_url_kwarg = "card_id"

    def get_queryset(self):
        return access.person_owned_visible(
            self.actor, self.request, SocialSecurityCard.objects.all()
        )


@extend_schema_view(
    get=extend_schema(
        summary="A person's e-voucher",
        description="The person's e-voucher: its status (`NOT_ACTIVATED`, `AGREEMENT_ACCEPTED`, "
        "`ACTIVATED`), the platform and agreement it was activated with, and whether face "
        "authentication is locked. For the person themselves, operators of their city and a "
        "terminal presenting their card or e-voucher; anyone else gets 404.",
        tags=["e-vouchers"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class PersonEVoucherApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = EVoucherOutputSerializer

    def get_object(self):
        vouchers = access.person_owned_visible(self.actor, self.request, EVoucher.objects.all())
        return get_object_or_404(vouchers, person_id=self.kwargs["person_id"])


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


def _own_card(actor, request, card_id: int) -> SocialSecurityCard:
    """The caller's own card (an insured person's); any other answers 404."""
    return get_object_or_404(
        access.person_owned_visible(
            actor, request, SocialSecurityCard.objects.select_related("person__city")
        ),
        pk=card_id,
    )


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
    """The card list, and applying for a card on POST."""

    @extend_schema(
        summary="Apply for a social security card",
        description="At the county centre the card is issued on the spot; at a street service point it is "
        "ready within 3 working days (weekends and Chinese public holidays do not count; official "
        "make-up working days do): on the 1st, 2nd or 3rd, as the card's number gives (the first "
        "eight bytes of its SHA-256 digest, modulo 3, plus 1), and `ready_on` reports the day. The person applies in person, or an entrusted agent presents "
        "their own ID as well as the person's. Operators of the person's city only (403 "
        "`CITY_NOT_ADMINISTERED`). Refused: the insured person's ID does not match (422 "
        "`INSURED_ID_MISMATCH`), an agent without a valid ID of their own (400 "
        "`AGENT_ID_REQUIRED`), a person who already holds a card that is not lost (409 "
        "`CARD_ALREADY_HELD`).",
        tags=["cards"],
        request=CardApplyInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CardOutputSerializer},
        examples=[
            OpenApiExample(
                "In person at a street service point",
                value={
                    "person": 9,
                    "insured_resident_id": "330106198803141234",
                    "site": "STREET_POINT",
                },
                request_only=True,
            ),
            OpenApiExample(
                "By an entrusted agent at the county centre",
                value={
                    "person": 9,
                    "insured_resident_id": "330106198803141234",
                    "agent_name": "张敏",
                    "agent_resident_id": "330106195607022461",
                    "site": "COUNTY_CENTER",
                },
                request_only=True,
            ),
        ],
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
        card = card_apply(person=person, by=request.user, now=clock.now(), **values)
        return Response(CardOutputSerializer(card).data, status=201)


class CardCollectApi(ActorMixin, APIView):
    @extend_schema(
        summary="Hand a ready card over to the person",
        description="A `READY` card becomes `ISSUED`: the person holds it, still to be activated. "
        "Operators of the person's city only (403 `CITY_NOT_ADMINISTERED`). A card in any other "
        "state answers 409 `CARD_TRANSITION_NOT_ALLOWED`.",
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
        description="An `ISSUED` card becomes `ACTIVE` with the PIN the person chose (stored "
        "hashed); from then on it can be presented at institutions. Operators of the person's "
        "city only (403 `CITY_NOT_ADMINISTERED`). The cardholder asking for their own card is "
        "told that activation happens at the agency's counter with their ID and a PIN (403 "
        "`CARD_ACTIVATED_AT_COUNTER`, with a `remedy` naming the city's agency and its phone, or "
        "the national hotline 12393, and that `contact` as data). Refused: a PIN that is not 6 digits or is "
        "trivially guessable (400 `CARD_PIN_INVALID`), a card not in `ISSUED` (409 "
        "`CARD_TRANSITION_NOT_ALLOWED`).",
        tags=["cards"],
        request=InputSerializer,
        examples=[OpenApiExample("A PIN", value={"pin": "418207"}, request_only=True)],
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=CardOutputSerializer,
    )
    @idempotent
    def post(self, request, card_id: int):
        if self.actor.is_insured:
            card_activation_by_holder_refuse(card=_own_card(self.actor, request, card_id))
        card = _operated_card(self.actor, request, card_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        card = card_activate(card=card, pin=data.validated_data["pin"], by=request.user)
        return Response(CardOutputSerializer(card).data)


class CardReportLostApi(ActorMixin, APIView):
    @extend_schema(
        summary="Report a card lost (the person themselves, or an operator of their city)",
        description="The card becomes `LOST` at once and identifies nobody any more when "
        "presented; a replacement can then be applied for. Refused for other roles (403 "
        "`ROLE_NOT_ALLOWED`) and for a card already lost or not yet issued (409 "
        "`CARD_TRANSITION_NOT_ALLOWED`).",
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
        description="Applies for a new card for the person of a `LOST` card, the same way as a "
        "first application (in person or by an agent, at the county centre or a street point); "
        "the new card records which one it replaces. Operators of the person's city only (403 "
        "`CITY_NOT_ADMINISTERED`). A card that is not lost answers 409 "
        "`CARD_TRANSITION_NOT_ALLOWED`.",
        tags=["cards"],
        request=AgentFieldsSerializer,
        examples=[
            OpenApiExample(
                "In person at the county centre",
                value={"insured_resident_id": "330106198803141234", "site": "COUNTY_CENTER"},
                request_only=True,
            )
        ],
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: CardOutputSerializer},
    )
    @idempotent
    def post(self, request, card_id: int):
        card = _operated_card(self.actor, request, card_id)
        data = AgentFieldsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        new_card = card_replace(card=card, by=request.user, now=clock.now(), **data.validated_data)
        return Response(CardOutputSerializer(new_card).data, status=201)


# --- E-voucher flows ----------------------------------------------------------------------


class AgreementOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = EVoucherAgreement
        fields = ["version", "title", "text", "effective_from"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["title"] = in_current_language(data["title"])
        data["text"] = in_current_language(data["text"])
        return data


class CurrentAgreementApi(APIView):
    @extend_schema(
        summary="The e-voucher user agreement in force",
        description="The version, title and text a person accepts in step 1 of online "
        "activation (send its `version` as `agreement_version`). Any authenticated caller. "
        "With no agreement in force, 422 `AGREEMENT_VERSION_NOT_CURRENT`.",
        tags=["e-vouchers"],
        responses={
            200: AgreementOutputSerializer,
            422: OpenApiResponse(
                description="No agreement is in force (`AGREEMENT_VERSION_NOT_CURRENT`)."
            ),
        },
    )
    def get(self, request):
        agreement = evoucher_agreement_current()
        if agreement is None:
            raise DomainError(
                CardErrorCode.AGREEMENT_VERSION_NOT_CURRENT, _("No agreement is in force.")
            )
        return Response(AgreementOutputSerializer(agreement).data)


def _own_person(actor, request):
    access.require_role(actor, User.Role.INSURED)
    person = InsuredPerson.objects.filter(user_id=request.user.pk).first()
    if person is None:
        raise DomainError(
            CommonErrorCode.NOT_FOUND, _("This login is not linked to an insured person.")
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
        description="The insured person (their own login; other roles 403 `ROLE_NOT_ALLOWED`) "
        "accepts the agreement in force on the platform they activate with; the e-voucher "
        "becomes `AGREEMENT_ACCEPTED`, ready for face authentication. Refused: an old or unknown "
        "agreement version (422 `AGREEMENT_VERSION_NOT_CURRENT`), an e-voucher already activated "
        "(409 `EVOUCHER_TRANSITION_NOT_ALLOWED`).",
        tags=["e-vouchers"],
        request=InputSerializer,
        examples=[
            OpenApiExample(
                "On WeChat",
                value={"platform": "WECHAT", "agreement_version": "2025.1"},
                request_only=True,
            )
        ],
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
        "not counted as the person's failure. The insured person's own login only (other roles "
        "403 `ROLE_NOT_ALLOWED`), after step 1 (409 `EVOUCHER_TRANSITION_NOT_ALLOWED` "
        "otherwise). Choosing `sandbox_outcome` needs sandbox mode (400 "
        "`SANDBOX_OUTCOME_NOT_ALLOWED`).",
        tags=["e-vouchers"],
        request=InputSerializer,
        examples=[
            OpenApiExample("A real attempt", value={}, request_only=True),
            OpenApiExample(
                "Sandbox: the face does not match",
                value={"sandbox_outcome": "FACE_MISMATCH"},
                request_only=True,
            ),
        ],
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: OutputSerializer},
    )
    @idempotent
    def post(self, request):
        person = _own_person(self.actor, request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = evoucher_face_authenticate(
            person=person,
            outcome=data.validated_data.get("sandbox_outcome"),
            by=request.user,
            now=clock.now(),
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


class MyEVoucherApi(ActorMixin, APIView):
    @extend_schema(
        summary="Your e-voucher",
        description="The insured person's own e-voucher: its status, platform and whether face "
        "authentication is locked. It carries no code: to use it at a hospital or pharmacy, get a "
        "presentation code with `POST /api/v1/me/evoucher/qr-codes` and show it there. The "
        "insured person's own login only (other roles 403 `ROLE_NOT_ALLOWED`).",
        tags=["e-vouchers"],
        responses=EVoucherOutputSerializer,
    )
    def get(self, request):
        person = _own_person(self.actor, request)
        return Response(EVoucherOutputSerializer(person.evoucher).data)


class MyEVoucherPresentationCodeApi(ActorMixin, APIView):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField(help_text="What the e-voucher's QR code carries right now.")
        credential = serializers.CharField(
            help_text="The X-Presented-Credential value a terminal sends: EVOUCHER <code>."
        )
        issued_at = serializers.DateTimeField()
        expires_at = serializers.DateTimeField()

    @extend_schema(
        summary="Show your e-voucher: a fresh short-lived presentation code (the dynamic QR code)",
        description="The hospital or pharmacy scans it and sends it as `X-Presented-Credential: "
        "EVOUCHER <code>` for this visit. It is valid for a few minutes on the domain clock (the "
        "simulated clock in sandbox mode), and each new code retires the previous one. Not "
        "replayable by Idempotency-Key on purpose: the code is never stored in clear, and a "
        "retry simply shows a new one. The insured person's own login only (other roles 403 "
        "`ROLE_NOT_ALLOWED`); an e-voucher not activated answers 409 "
        "`EVOUCHER_TRANSITION_NOT_ALLOWED`.",
        tags=["e-vouchers"],
        request=None,
        responses={201: OutputSerializer},
    )
    def post(self, request):
        person = _own_person(self.actor, request)
        issued = evoucher_presentation_code_issue(person=person)
        return Response(
            self.OutputSerializer(
                {
                    "code": issued.code,
                    "credential": f"EVOUCHER {issued.code}",
                    "issued_at": issued.issued_at,
                    "expires_at": issued.expires_at,
                }
            ).data,
            status=201,
        )


class PharmacyActivationApi(ActorMixin, APIView):
    throttle_classes = [PharmacyActivationThrottle]

    class InputSerializer(serializers.Serializer):
        resident_id = serializers.CharField(
            max_length=18, help_text="Read from the person's ID card at the pharmacy."
        )
        name = serializers.CharField(max_length=64, help_text="The name as on the ID card.")
        sandbox_face_outcome = serializers.ChoiceField(
            choices=FaceAuthAttempt.Outcome.choices,
            required=False,
            help_text="Sandbox mode only: the outcome the simulated face check against the ID "
            "photo gives. Default PASS.",
        )

    class OutputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=EVoucher.Status.choices)
        platform = serializers.ChoiceField(choices=EVoucher.Platform.choices)
        activated_at = serializers.DateTimeField()

    def throttled(self, request, wait):
        raise Throttled(
            wait=wait,
            detail="This terminal has tried as many offline e-voucher activations as it may in "
            "an hour." + clock.real_wait_note(),
        )

    @extend_schema(
        summary="Offline activation at a designated pharmacy (the person present, ID and face "
        "checked)",
        description="The pharmacy sends the ID number and name from the person's ID card and the "
        "face check's outcome. It learns only that the e-voucher is activated: the person shows "
        "it later from their own app (a presentation code). An unknown ID, another name and a "
        "failed face check all answer 422 `IDENTITY_NOT_VERIFIED`, whether or not the ID belongs "
        "to an insured person; an e-voucher already activated answers as activated. Designated "
        "pharmacies' terminals only (403 `ROLE_NOT_ALLOWED`, `INSTITUTION_NOT_PHARMACY`). A "
        "face-check provider outage answers 409 `FACE_AUTH_UNAVAILABLE` with Retry-After; "
        "choosing `sandbox_face_outcome` needs sandbox mode (400 `SANDBOX_OUTCOME_NOT_ALLOWED`). "
        "Each terminal may try 30 activations an hour by default (`PHARMACY_ACTIVATION_RATE`), "
        "right or wrong: a success tells the pharmacy the ID is insured, so no terminal may run "
        "through IDs (429 `RATE_LIMITED` with Retry-After).",
        tags=["e-vouchers"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses=OutputSerializer,
        examples=[
            OpenApiExample(
                "The person's ID card, checked",
                value={"resident_id": "330106198803141234", "name": "王芳"},
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        access.require_role(self.actor, User.Role.INSTITUTION)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = evoucher_activate_at_pharmacy(
            resident_id=data.validated_data["resident_id"],
            name=data.validated_data["name"],
            face_outcome=data.validated_data.get("sandbox_face_outcome"),
            institution=request.user.institution,
            by=request.user,
            now=clock.now(),
        )
        return Response(self.OutputSerializer(voucher).data)
