from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import access
from accounts.crediting import contribution_collection_open, crediting_run_open
from accounts.employer_payments import MonthStatus, person_payment_months
from accounts.models import Account, Contribution, ContributionCollection, CreditingRun, Entry
from accounts.reasons import (
    HIDING_REASONS,
    REASON_CHOICES,
    REASON_ORDER,
    REASON_SOURCES,
    REASON_TITLES,
)
from accounts.selectors import account_entries, person_contributions
from accounts.services import contribution_record
from api.base import (
    IDEMPOTENCY_KEY_PARAMETER,
    PRESENTED_CREDENTIAL_PARAMETER,
    ActorMixin,
    operated_city,
)
from api.idempotency import idempotent
from api.jobs import RecordedJobOutputSerializer
from api.views import DocsPageApi, DocsPageRenderer
from common import clock
from common.errors import CommonErrorCode, DomainError, field_error
from common.money import CURRENCY, MoneySerializerField
from common.pagination import NewestFirstCursorPagination
from inquiry.answer import balance_inquire
from inquiry.channels import Channel
from inquiry.notices import NoticeCode
from jobs.services import job_enqueue
from persons.models import InsuredPerson
from users.models import User

# --- Balance -------------------------------------------------------------------------------


class OutpatientPoolingSerializer(serializers.Serializer):
    ratio = serializers.CharField()
    annual_quota = serializers.CharField()
    used = serializers.CharField()
    remaining = serializers.CharField()
    currency = serializers.CharField()


class AgencyContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()


class ReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=REASON_CHOICES)
    title = serializers.CharField()
    detail = serializers.CharField()
    remedy = serializers.CharField()
    retry_after = serializers.IntegerField(
        allow_null=True, help_text="Seconds to wait (PLATFORM_BUSY)."
    )
    expected_date = serializers.DateField(
        allow_null=True, help_text="When it should resolve, where known."
    )
    channels = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="WRONG_CHANNEL: channels that can show the account.",
    )
    agency = AgencyContactSerializer(
        required=False,
        help_text="Reasons that send a person to the counter or the phone: the city's "
        "medical-insurance agency as recorded (absent where the city has recorded none).",
    )
    hotline = serializers.CharField(
        required=False,
        help_text="The number to call: the agency's phone, or the national hotline 12393 where "
        "the city has none.",
    )
    outpatient_pooling = OutpatientPoolingSerializer(required=False)


class BalanceAmountSerializer(serializers.Serializer):
    amount = MoneySerializerField()
    currency = serializers.CharField()
    as_of = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["snapshot", "live"])


class NoticeSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[(code.value, code.value) for code in NoticeCode])
    title = serializers.CharField()
    detail = serializers.CharField()
    remedy = serializers.CharField()
    months = serializers.ListField(
        child=serializers.DateField(), help_text="The months concerned (first day of each)."
    )
    amount_owed = MoneySerializerField(help_text="EMPLOYER_ARREARS: what the employer owes.")
    account_share_missing = MoneySerializerField(
        help_text="What the personal account has not received for those months."
    )
    currency = serializers.CharField()
    hotline = serializers.CharField()


class BalanceOutputSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    visible = serializers.BooleanField()
    balance = BalanceAmountSerializer(allow_null=True)
    reasons = ReasonSerializer(many=True)
    notices = NoticeSerializer(
        many=True,
        help_text="What hides nothing but explains a balance that is not growing: "
        "`EMPLOYER_ARREARS` (the employer has not paid months), `EMPLOYER_UNDERPAID` (it paid "
        "the latest month on a base below the declared wage).",
    )


def balance_response(diagnosis) -> Response:
    # BalanceOutputSerializer documents this body; as_json renders it the same way, faster.
    response = Response(diagnosis.as_json())
    if diagnosis.retry_after:
        response["Retry-After"] = str(diagnosis.retry_after)
    return response


_BALANCE_DESCRIPTION = (
    "Whether the personal-account balance is visible and, when it is not (or is 0.00 only because "
    "money has not arrived), every reason that applies, in the catalogue's order, each with a remedy. "
    "A `PLATFORM_BUSY` answer also carries a `Retry-After` header."
)
_BALANCE_EXAMPLES = [
    OpenApiExample(
        "Visible",
        value={
            "person_id": 9,
            "channel": "ONLINE",
            "visible": True,
            "balance": {
                "amount": "1234.56",
                "currency": "CNY",
                "as_of": "2026-11-02T02:00:00Z",
                "source": "snapshot",
            },
            "reasons": [],
            "notices": [],
        },
        response_only=True,
    ),
    OpenApiExample(
        "Visible, but the employer has not paid two months",
        value={
            "person_id": 9,
            "channel": "ONLINE",
            "visible": True,
            "balance": {
                "amount": "600.00",
                "currency": "CNY",
                "as_of": "2026-11-02T02:00:00Z",
                "source": "snapshot",
            },
            "reasons": [],
            "notices": [
                {
                    "code": "EMPLOYER_ARREARS",
                    "title": "Your employer has not paid your contributions",
                    "detail": "Hangzhou Westlake Trading Co., Ltd. has not paid your "
                    "medical-insurance contributions for 2026-09, 2026-10 (2 months, 2000.00 "
                    "CNY), so your personal account has not received 400.00 CNY for them and is "
                    "not growing.",
                    "remedy": "Ask your employer to pay the arrears; the missing credits follow "
                    "at the next crediting once it does. If it does not, complain to the local "
                    "medical-insurance agency or call 12393: you have the right to supervise your "
                    "employer's payments (Social Insurance Law, art. 4).",
                    "months": ["2026-09-01", "2026-10-01"],
                    "amount_owed": "2000.00",
                    "account_share_missing": "400.00",
                    "currency": "CNY",
                    "hotline": "12393",
                }
            ],
        },
        response_only=True,
    ),
    OpenApiExample(
        "Hidden: card not activated",
        value={
            "person_id": 9,
            "channel": "ONLINE",
            "visible": False,
            "balance": None,
            "reasons": [
                {
                    "code": "CARD_NOT_ACTIVATED",
                    "title": "Your social security card is not activated",
                    "detail": "Your card is being made; it will be ready on 2026-11-05.",
                    "remedy": "Collect it when it is ready, then activate it at the agency "
                    "(bring your ID, set a PIN).",
                    "retry_after": None,
                    "expected_date": "2026-11-05",
                }
            ],
            "notices": [],
        },
        response_only=True,
    ),
]


class MyBalanceApi(ActorMixin, APIView):
    @extend_schema(
        summary="My balance (online channel: the city's latest uploaded snapshot)",
        description=_BALANCE_DESCRIPTION
        + " For an insured person's own login only (other roles: 403 `ROLE_NOT_ALLOWED`; a login "
        "not linked to an insured person: 404 `NOT_FOUND`). The amount is the one in the city's "
        "latest upload to the national platform, not the live ledger.",
        tags=["balance"],
        responses=BalanceOutputSerializer,
        examples=_BALANCE_EXAMPLES,
    )
    def get(self, request):
        access.require_role(self.actor, User.Role.INSURED)
        try:
            diagnosis = balance_inquire(
                channel=Channel.ONLINE, now=clock.now(), user_id=request.user.pk
            )
        except InsuredPerson.DoesNotExist:
            raise DomainError(
                CommonErrorCode.NOT_FOUND, gettext("This login is not linked to an insured person.")
            ) from None
        return balance_response(diagnosis)


class PersonBalanceApi(ActorMixin, APIView):
    @extend_schema(
        summary="A person's balance (counter, hotline or designated-institution channel: the live ledger)",
        description=_BALANCE_DESCRIPTION
        + " The channel follows the caller: an institution terminal is the designated-institution "
        "channel (and must present the person's card or e-voucher: 403 `CREDENTIAL_REQUIRED` "
        "or `CREDENTIAL_INVALID` otherwise, the latter with its reason for a card not handed "
        "over or lost) and answers for the credential presented, as a settlement with it pays: "
        "an activated e-voucher serves whatever the physical card's state, a card that is not "
        "active answers `CARD_NOT_ACTIVATED`; an operator the counter (or `?channel=HOTLINE`), an "
        "insured person asking for themselves the online channel. A person the caller may not "
        "see answers 404; `channel` from anyone but an operator, or any other value, 400 "
        "`VALIDATION_ERROR`.",
        tags=["balance"],
        parameters=[
            PRESENTED_CREDENTIAL_PARAMETER,
            OpenApiParameter(
                "channel",
                str,
                enum=[Channel.COUNTER, Channel.HOTLINE],
                description="Operators only.",
            ),
        ],
        responses=BalanceOutputSerializer,
        examples=_BALANCE_EXAMPLES,
    )
    def get(self, request, person_id: int):
        channel = self.actor.default_channel
        requested = request.query_params.get("channel")
        if requested is not None:
            if not self.actor.is_operator or requested not in (Channel.COUNTER, Channel.HOTLINE):
                raise DomainError(
                    CommonErrorCode.VALIDATION_ERROR,
                    gettext("Only operators choose a channel, and only COUNTER or HOTLINE."),
                    errors=[field_error("channel", gettext("Not a channel you can choose."))],
                )
            channel = requested
        try:
            diagnosis = balance_inquire(
                channel=channel,
                now=clock.now(),
                person_id=person_id,
                visible=access.persons_visible(self.actor, request),
                credential=access.presented_credential_kind(self.actor, request),
            )
        except InsuredPerson.DoesNotExist:
            raise DomainError(
                CommonErrorCode.NOT_FOUND, gettext("No such insured person.")
            ) from None
        return balance_response(diagnosis)


class ReasonCatalogueApi(DocsPageApi):
    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        order = serializers.IntegerField()
        title = serializers.CharField()
        hides_balance = serializers.BooleanField()
        background = serializers.CharField()

    @extend_schema(
        summary="The reason catalogue: every code a balance query can answer with, in order",
        description="Each reason code with its position (a balance answer lists its reasons in "
        "this order, the first being the primary one), its title, whether it hides the balance, "
        "and the rule or fact behind it. The codes never change meaning. With `Accept: "
        "text/html` (a browser) the same list is a page. Public: no login needed.",
        tags=["balance"],
        responses=OutputSerializer(many=True),
    )
    def get(self, request):
        reasons = [
            {
                "code": code.value,
                "order": index + 1,
                "title": str(REASON_TITLES[code]),
                "hides_balance": code in HIDING_REASONS,
                "background": str(REASON_SOURCES[code]),
            }
            for index, code in enumerate(REASON_ORDER)
        ]
        if isinstance(request.accepted_renderer, DocsPageRenderer):
            return Response({"reasons": reasons}, template_name="api/reason_list.html")
        return Response(reasons)


# --- Accounts and their ledger -------------------------------------------------------------


class AccountOutputSerializer(serializers.ModelSerializer):
    city = serializers.CharField(source="city.code")
    balance = MoneySerializerField()
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "id",
            "kind",
            "city",
            "person",
            "institution",
            "balance",
            "currency",
            "created_at",
        ]

    def get_currency(self, obj) -> str:
        return CURRENCY


class AccountFilter(filters.FilterSet):
    city = filters.CharFilter(field_name="city__code")

    class Meta:
        model = Account
        fields = ["kind", "city", "person", "institution"]


@extend_schema_view(
    get=extend_schema(
        summary="Accounts you may see",
        description="Personal, pooled-fund and institution accounts with their balances (CNY). An "
        "insured person sees their own personal account; an institution terminal its own account "
        "and, while presenting a person's card or e-voucher, that person's; an operator every "
        "account of the cities they administer. Filter by `kind`, `city`, `person` or "
        "`institution`. An invalid presented credential answers 403 `CREDENTIAL_INVALID`.",
        tags=["accounts"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class AccountListApi(ActorMixin, generics.ListAPIView):
    serializer_class = AccountOutputSerializer
    filterset_class = AccountFilter

    def get_queryset(self):
        return (
            access.accounts_visible(self.actor, self.request).select_related("city").order_by("id")
        )


@extend_schema_view(
    get=extend_schema(
        summary="One account",
        description="One account with its kind, city, owner and balance (CNY), for a caller who "
        "may see it (see the account list for who sees what); any other account answers 404.",
        tags=["accounts"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class AccountDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = AccountOutputSerializer
    lookup_url_kwarg = "account_id"

    def get_queryset(self):
        return access.accounts_visible(self.actor, self.request).select_related("city")


class EntryOutputSerializer(serializers.ModelSerializer):
    amount = MoneySerializerField()
    transfer_id = serializers.IntegerField()
    kind = serializers.CharField(source="transfer.kind")
    memo = serializers.CharField(source="transfer.memo")
    posted_at = serializers.DateTimeField(source="transfer.posted_at")
    request_id = serializers.CharField(source="transfer.request_id")

    class Meta:
        model = Entry
        fields = ["id", "transfer_id", "kind", "amount", "memo", "posted_at", "request_id"]


@extend_schema_view(
    get=extend_schema(
        summary="An account's ledger entries, newest first (cursor-paginated)",
        description="Each entry is one leg of an immutable ledger transfer: the signed amount, "
        "the transfer's kind, memo, time and the request id that posted it. Follow `next` for "
        "older entries; the cursor stays stable while new entries arrive. Visible to whoever may "
        "see the account.",
        tags=["accounts"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
        responses={
            200: EntryOutputSerializer(many=True),
            404: OpenApiResponse(description="No such account, or not visible to the caller."),
        },
    )
)
class AccountEntriesApi(ActorMixin, generics.ListAPIView):
    serializer_class = EntryOutputSerializer
    pagination_class = NewestFirstCursorPagination
    filter_backends: list = []

    def get_queryset(self):
        account = get_object_or_404(
            access.accounts_visible(self.actor, self.request), pk=self.kwargs["account_id"]
        )
        return account_entries(account=account)


# --- Contributions (payment records, Social Insurance Law art. 4) --------------------------


class ContributionOutputSerializer(serializers.ModelSerializer):
    payment_base = MoneySerializerField(allow_null=True)
    employer_amount = MoneySerializerField()
    individual_amount = MoneySerializerField()
    subsidy_amount = MoneySerializerField()
    account_share = MoneySerializerField()
    total = MoneySerializerField()
    base_due = MoneySerializerField(
        allow_null=True,
        help_text="Employees: the declared wage clamped to the city's bounds; a `payment_base` "
        "below it is an underpayment.",
    )

    class Meta:
        model = Contribution
        fields = [
            "id",
            "person",
            "kind",
            "period",
            "payment_base",
            "employer_amount",
            "individual_amount",
            "subsidy_amount",
            "account_share",
            "total",
            "base_due",
            "employer",
            "received_at",
            "transfer",
        ]


class ContributionFilter(filters.FilterSet):
    period_from = filters.DateFilter(field_name="period", lookup_expr="gte")
    period_to = filters.DateFilter(field_name="period", lookup_expr="lte")

    class Meta:
        model = Contribution
        fields = ["kind", "period_from", "period_to"]


@extend_schema_view(
    get=extend_schema(
        summary="A person's payment records (Social Insurance Law art. 4)",
        description="Every contribution recorded for the person: the period, the employer, "
        "individual and subsidy amounts, the share that went to the personal account, and the "
        "ledger transfer. For the person themselves, operators of their city, and a terminal "
        "presenting their card or e-voucher; any other person answers 404. Filter by `kind`, "
        "`period_from` and `period_to`.",
        tags=["contributions"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
)
class PersonContributionListApi(ActorMixin, generics.ListAPIView):
    serializer_class = ContributionOutputSerializer
    filterset_class = ContributionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no person
            return Contribution.objects.none()
        person = get_object_or_404(
            access.persons_visible(self.actor, self.request), pk=self.kwargs["person_id"]
        )
        return person_contributions(person_id=person.id)


class PaymentMonthOutputSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="The month (employees) or year (residents).")
    kind = serializers.ChoiceField(choices=Contribution.Kind.choices)
    status = serializers.ChoiceField(
        choices=[MonthStatus.PAID, MonthStatus.UNPAID, MonthStatus.UNDERPAID],
        help_text="`PAID`; `UNDERPAID`: received on a base used below the base due; `UNPAID`: "
        "the employer did not pay it (an arrear).",
    )
    base_due = MoneySerializerField(allow_null=True)
    base_used = MoneySerializerField(allow_null=True, help_text="Null while unpaid.")
    employer_amount = MoneySerializerField()
    individual_amount = MoneySerializerField()
    subsidy_amount = MoneySerializerField()
    account_share = MoneySerializerField(help_text="What the personal account receives from it.")
    account_share_missing = MoneySerializerField(
        help_text="What the personal account misses for the month: its share on the base due "
        "less what was received."
    )
    employer_id = serializers.IntegerField(allow_null=True)
    employer_name = serializers.CharField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    paid_late = serializers.BooleanField(help_text="Paid when the employer paid its arrears.")
    contribution_id = serializers.IntegerField(allow_null=True)


@extend_schema_view(
    get=extend_schema(
        summary="A person's payment records month by month: paid, unpaid or underpaid",
        description="Every month (employees) or year (residents) the collection has recorded for "
        "the person, newest first: `PAID`, `UNDERPAID` (the employer paid on a base below the "
        "declared wage: `base_used` < `base_due`) or `UNPAID` (the employer did not pay: "
        "nothing received, nothing credited until it pays its arrears), with the employer, both "
        "bases, the amounts and what the personal account misses. A month paid with the "
        "employer's arrears shows `paid_late`. For the person themselves, operators of their "
        "city, and a terminal presenting their card or e-voucher; any other person answers 404. "
        "Filter by `period_from` and `period_to`.",
        tags=["contributions"],
        parameters=[
            PRESENTED_CREDENTIAL_PARAMETER,
            OpenApiParameter("period_from", type=OpenApiTypes.DATE, required=False),
            OpenApiParameter("period_to", type=OpenApiTypes.DATE, required=False),
        ],
        examples=[
            OpenApiExample(
                "An unpaid month",
                value={
                    "period": "2026-10-01",
                    "kind": "EMPLOYEE_MONTHLY",
                    "status": "UNPAID",
                    "base_due": "10000.00",
                    "base_used": None,
                    "employer_amount": "0.00",
                    "individual_amount": "0.00",
                    "subsidy_amount": "0.00",
                    "account_share": "0.00",
                    "account_share_missing": "200.00",
                    "employer_id": 3,
                    "employer_name": "Hangzhou Westlake Trading Co., Ltd.",
                    "paid_at": None,
                    "paid_late": False,
                    "contribution_id": None,
                },
                response_only=True,
            ),
            OpenApiExample(
                "An underpaid month",
                value={
                    "period": "2026-09-01",
                    "kind": "EMPLOYEE_MONTHLY",
                    "status": "UNDERPAID",
                    "base_due": "10000.00",
                    "base_used": "6000.00",
                    "employer_amount": "480.00",
                    "individual_amount": "120.00",
                    "subsidy_amount": "0.00",
                    "account_share": "120.00",
                    "account_share_missing": "80.00",
                    "employer_id": 3,
                    "employer_name": "Hangzhou Westlake Trading Co., Ltd.",
                    "paid_at": "2026-09-15T09:00:00+08:00",
                    "paid_late": False,
                    "contribution_id": 41,
                },
                response_only=True,
            ),
        ],
    )
)
class PersonPaymentMonthListApi(ActorMixin, generics.ListAPIView):
    serializer_class = PaymentMonthOutputSerializer
    filter_backends = []  # months are not rows of one table: the bounds are read below

    class FilterSerializer(serializers.Serializer):
        period_from = serializers.DateField(required=False)
        period_to = serializers.DateField(required=False)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no person
            return []
        person = get_object_or_404(
            access.persons_visible(self.actor, self.request), pk=self.kwargs["person_id"]
        )
        bounds = self.FilterSerializer(data=self.request.query_params)
        bounds.is_valid(raise_exception=True)
        return person_payment_months(person_id=person.id, **bounds.validated_data)


class ContributionRecordApi(ActorMixin, APIView):
    class InputSerializer(serializers.Serializer):
        person = serializers.IntegerField(min_value=1)
        period = serializers.DateField(
            help_text="Employees: the first of the month; residents: 1 January."
        )
        payment_base = MoneySerializerField(
            required=False,
            allow_null=True,
            min_value=0,
            help_text="Employees: defaults to the declared wage.",
        )

    @extend_schema(
        summary="Record a contribution received (operators of the person's city)",
        description="Employees: employer and individual shares on the payment base clamped to the city's "
        "bounds. Residents: the yearly individual amount by subsidy category plus the government "
        "subsidy. The money is posted as one ledger transfer. Operators of the person's city only "
        "(403 `CITY_NOT_ADMINISTERED`). Refused: a period that does not fit the scheme (400 "
        "`CONTRIBUTION_PERIOD_INVALID`), one before enrolment (422 "
        "`CONTRIBUTION_BEFORE_ENROLMENT`), one already recorded (409 "
        "`CONTRIBUTION_ALREADY_RECORDED`).",
        tags=["contributions"],
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: ContributionOutputSerializer},
        examples=[
            OpenApiExample(
                "An employee's month",
                value={"person": 9, "period": "2026-11-01", "payment_base": "10500.00"},
                request_only=True,
            ),
            OpenApiExample(
                "A resident's year", value={"person": 12, "period": "2026-01-01"}, request_only=True
            ),
        ],
    )
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = get_object_or_404(
            access.persons_visible(self.actor, request), pk=data.validated_data["person"]
        )
        access.require_city(self.actor, person.city_id)
        contribution = contribution_record(
            person=person,
            period=data.validated_data["period"],
            payment_base=data.validated_data.get("payment_base"),
            by=request.user,
            today=clock.today(),
        )
        return Response(ContributionOutputSerializer(contribution).data, status=201)


class MonthlyJobInputSerializer(serializers.Serializer):
    city = serializers.RegexField(r"^\d{6}$")
    period = serializers.DateField(help_text="Any day of the month; the month is what counts.")


class CreditingRunOutputSerializer(RecordedJobOutputSerializer):
    period = serializers.DateField()
    credited_count = serializers.IntegerField()
    credited_amount = MoneySerializerField()


class ContributionCollectionOutputSerializer(RecordedJobOutputSerializer):
    period = serializers.DateField()
    collected_count = serializers.IntegerField()
    collected_amount = MoneySerializerField()
    unpaid_count = serializers.IntegerField(
        help_text="Employees whose employer did not pay the month: recorded unpaid (arrears)."
    )


def _monthly_job_views(model, output, opener, noun, description):
    """The list-and-start and detail views of a monthly recorded job."""

    @extend_schema_view(
        get=extend_schema(
            summary=f"{noun.capitalize()}s (operators of the city)",
            description=f"The {noun}s of the cities the caller administers, newest first, each "
            "with its status and progress. Other roles see an empty list. Filter by `status` "
            "and `period`.",
            tags=["jobs"],
        )
    )
    class CollectionApi(ActorMixin, generics.ListAPIView):
        serializer_class = output
        filterset_fields = ["status", "period"]

        def get_queryset(self):
            return access.city_owned_visible(
                self.actor, model.objects.select_related("city")
            ).order_by("-id")

        @extend_schema(
            summary=f"Start (or re-run) the {noun} of a city's month",
            description=description
            + " Answers 202 at once; the job runs on a worker and its progress is on the row. "
            "A month has one job: asking again answers the same job and runs it again, which "
            "posts nothing twice. Operators of the city only (403 `CITY_NOT_ADMINISTERED`; an "
            "unknown city 404). A month that has not begun: 422 `CREDITING_PERIOD_NOT_DUE`.",
            tags=["jobs"],
            request=MonthlyJobInputSerializer,
            parameters=[IDEMPOTENCY_KEY_PARAMETER],
            responses={202: output},
            examples=[
                OpenApiExample(
                    f"November's {noun}",
                    value={"city": "330100", "period": "2026-11-01"},
                    request_only=True,
                )
            ],
        )
        @idempotent
        def post(self, request):
            data = MonthlyJobInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            city = operated_city(self.actor, data.validated_data["city"])
            job, _ = opener(
                city=city,
                period=data.validated_data["period"],
                by=request.user,
                today=clock.today(),
            )
            job_enqueue(job)
            return Response(output(job).data, status=202)

    @extend_schema_view(
        get=extend_schema(
            summary=f"One {noun}, with its progress",
            description=f"The {noun}'s status, items done of items total, how many times it "
            "ran, its totals and any error: poll it after starting the job. Operators of the "
            "city; any other caller gets 404.",
            tags=["jobs"],
        )
    )
    class DetailApi(ActorMixin, generics.RetrieveAPIView):
        serializer_class = output
        lookup_url_kwarg = "job_id"

        def get_queryset(self):
            return access.city_owned_visible(self.actor, model.objects.select_related("city"))

    CollectionApi.__name__ = f"{model.__name__}CollectionApi"
    DetailApi.__name__ = f"{model.__name__}DetailApi"
    return CollectionApi, DetailApi


CreditingRunCollectionApi, CreditingRunDetailApi = _monthly_job_views(
    CreditingRun,
    CreditingRunOutputSerializer,
    crediting_run_open,
    "crediting run",
    "Credits every personal account in the city what is due for the month, exactly once.",
)
ContributionCollectionCollectionApi, ContributionCollectionDetailApi = _monthly_job_views(
    ContributionCollection,
    ContributionCollectionOutputSerializer,
    contribution_collection_open,
    "contribution collection",
    "Collects the month's employer and individual contributions of the city's active employees on "
    "their declared wages, exactly once per person; an employer that does not pay leaves its "
    "employees' month unpaid (an arrear, `unpaid_count`), one that underpays pays on its lower "
    "base.",
)
