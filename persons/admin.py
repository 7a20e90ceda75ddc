from datetime import date

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import Contribution, ContributionArrear
from accounts.reasons import ReasonCode
from cards.models import SocialSecurityCard
from common import clock
from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin
from common.errors import DomainError
from inquiry.answer import balance_every_channel, balance_every_channel_of_persons
from inquiry.channels import Channel
from persons.models import InsuredPerson


class CardInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SocialSecurityCard
    fk_name = "person"
    fields = ["number", "status", "site", "applied_at", "ready_on", "activated_at", "agent_name"]
    readonly_fields = fields
    show_change_link = True
    extra = 0


class ContributionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Contribution
    fields = [
        "period",
        "kind",
        "payment_base",
        "employer_amount",
        "individual_amount",
        "subsidy_amount",
        "account_share",
        "base_due",
        "employer",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ["-period"]


class UnpaidMonthInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ContributionArrear
    fields = ["period", "employer", "base_due", "account_share", "paid_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ["-period"]
    verbose_name = _("month the employer left unpaid")
    verbose_name_plural = _("months the employer left unpaid (Paid at: paid with its arrears)")


# A channel's short name in the list's badges.
CHANNEL_SHORT = {
    Channel.ONLINE: _("Online"),
    Channel.INSTITUTION: _("Institution"),
    Channel.COUNTER: _("Counter"),
    Channel.HOTLINE: _("Hotline"),
}
# A reason's short name in the list's badges (the title is its tooltip), and its colour class.
REASON_SHORT = {
    ReasonCode.CITY_INQUIRY_NOT_LAUNCHED: _("not launched"),
    ReasonCode.EVOUCHER_NOT_ACTIVATED: _("e-voucher"),
    ReasonCode.WRONG_CHANNEL: _("not shown online"),
    ReasonCode.PERSONAL_ACCOUNT_ABOLISHED: _("abolished"),
    ReasonCode.CARD_NOT_ACTIVATED: _("card"),
    ReasonCode.DATA_NOT_UPLOADED: _("not uploaded"),
    ReasonCode.PLATFORM_BUSY: _("busy"),
    ReasonCode.FUNDS_NOT_YET_TRANSFERRED: _("awaiting crediting"),
}
SCHEME_SHORT = {
    InsuredPerson.Scheme.EMPLOYEE: _("Employee"),
    InsuredPerson.Scheme.RESIDENT: _("Resident"),
}


def masked_resident_id(resident_id: str) -> str:
    """The resident ID as the console shows it: region and last four digits only."""
    return f"{resident_id[:6]}********{resident_id[-4:]}"


def _badge_class(diagnosis) -> str:
    if not diagnosis.reasons:
        return "console-badge-ok"
    primary = diagnosis.reasons[0].code
    if primary == ReasonCode.PERSONAL_ACCOUNT_ABOLISHED:
        return "console-badge-info"
    if primary in (ReasonCode.FUNDS_NOT_YET_TRANSFERRED, ReasonCode.PLATFORM_BUSY):
        return "console-badge-wait"
    return "console-badge-hidden"


def _badge_text(diagnosis) -> str:
    if diagnosis.reasons:
        return REASON_SHORT[diagnosis.reasons[0].code]
    return f"{diagnosis.amount:.2f}"


def _badge_title(diagnosis) -> str:
    if diagnosis.reasons:
        return "; ".join(str(reason.title) for reason in diagnosis.reasons)
    return _("Shows %(amount)s CNY") % {"amount": f"{diagnosis.amount:.2f}"}


def _contribution_period(person, today: date) -> date | None:
    """The period a contribution recorded today is for; None for a retiree (who pays none)."""
    if person.is_employee:
        return None if person.is_retired else today.replace(day=1)
    return today.replace(month=1, day=1)


@admin.register(InsuredPerson)
class InsuredPersonAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["id", "person", "city_name", "scheme_short", "state"]
    list_display_links = ["id", "person"]
    list_filter = ["city", "scheme", "employment_status", "subsidy_category"]
    search_fields = ["resident_id", "name"]
    list_select_related = ["city"]
    list_per_page = 50
    readonly_fields = [
        "sex",
        "birth_date",
        "balance_by_channel",
        "personal_account_link",
        "evoucher_status",
        "user",
    ]
    autocomplete_fields = ["city"]
    inlines = [CardInline, ContributionInline, UnpaidMonthInline]
    fieldsets = [
        (None, {"fields": ["resident_id", "name", ("sex", "birth_date"), "city", "user"]}),
        (
            _("Scheme"),
            {
                "fields": [
                    "scheme",
                    "employment_status",
                    "subsidy_category",
                    "declared_wage",
                    "enrolled_on",
                ]
            },
        ),
        (
            _("Balance: what each channel would answer now, and what to do"),
            {"fields": ["balance_by_channel"], "classes": ["console-wide"]},
        ),
        (_("Account and e-voucher"), {"fields": ["personal_account_link", "evoucher_status"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Enrolment goes through the service (it opens the account and the e-voucher): no adding here;
        # the identity of an enrolled person does not change.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "masked_id", "resident_id", "city", "scheme"] if obj else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        # The page shows the ID masked, as the list does.
        first = dict(fieldsets[0][1])
        first["fields"] = ["masked_id", *first["fields"][1:]]
        return [(fieldsets[0][0], first), *fieldsets[1:]]

    def has_add_permission(self, request) -> bool:
        return False

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # Every channel's answer for the rows of this page only, their facts read in one query.
        rows = list(changelist.result_list)
        answers = balance_every_channel_of_persons(
            person_ids=[person.pk for person in rows], now=clock.now()
        )
        for person in rows:
            person.console_answers = answers.get(person.pk, {})
        return changelist

    @admin.display(description=_("Resident ID"), ordering="resident_id")
    def masked_id(self, person) -> str:
        return masked_resident_id(person.resident_id)

    @admin.display(description=_("Resident ID and name"), ordering="resident_id")
    def person(self, person) -> str:
        return format_html(
            '{}<div class="console-name-row">{}</div>',
            masked_resident_id(person.resident_id),
            person.name,
        )

    @admin.display(description=_("City"), ordering="city__name")
    def city_name(self, person) -> str:
        return person.city.name

    @admin.display(description=_("Scheme"), ordering="scheme")
    def scheme_short(self, person) -> str:
        label = SCHEME_SHORT.get(person.scheme, person.get_scheme_display())
        if person.is_retired:
            return _("%(scheme)s, retired") % {"scheme": label}
        return label

    @admin.display(description=_("What each channel shows"))
    def state(self, person) -> str:
        answers = getattr(person, "console_answers", None) or {}
        return format_html_join(
            "",
            '<span class="console-badge {}" title="{}"><b>{}</b> {}</span>',
            (
                (
                    _badge_class(diagnosis),
                    _badge_title(diagnosis),
                    CHANNEL_SHORT[Channel(channel)],
                    _badge_text(diagnosis),
                )
                for channel, diagnosis in answers.items()
            ),
        )

    @admin.display(description=_("Diagnosis"))
    def balance_by_channel(self, person) -> str:
        now = clock.now()
        answers = balance_every_channel(person_id=person.pk, now=now)
        rows = [
            {
                "channel": channel,
                "diagnosis": diagnosis,
                "badge": _badge_class(diagnosis),
            }
            for channel, diagnosis in answers.items()
        ]
        notices = next(iter(answers.values())).notices  # the same on every channel
        return render_to_string(
            "admin/persons/diagnosis.html",
            {
                "person": person,
                "rows": rows,
                "notices": notices,
                "actions": self._actions_for(person, answers, clock.localdate(now)),
                "can_act": getattr(person, "console_can_act", False),
            },
        )

    def _actions_for(self, person, answers, today: date) -> list[dict]:
        """What an operator may do now for the person's state, each one call into the domain."""
        actions = []
        card = person.cards.order_by("-id").first()
        if card is not None and card.status == SocialSecurityCard.Status.READY:
            actions.append(
                {
                    "post": reverse(
                        "admin:persons_insuredperson_act", args=[person.pk, "hand_over"]
                    ),
                    "label": _("Hand over card %(number)s") % {"number": card.number},
                    "confirm": _("Hand card %(number)s over to %(name)s?")
                    % {"number": card.number, "name": person.name},
                }
            )
        if card is not None and card.status == SocialSecurityCard.Status.ISSUED:
            actions.append(
                {
                    "link": reverse("admin:cards_card_activate", args=[card.pk]),
                    "label": _("Activate card %(number)s (the person sets a PIN)")
                    % {"number": card.number},
                }
            )
        period = _contribution_period(person, today)
        if period is not None and not person.contributions.filter(period=period).exists():
            actions.append(
                {
                    "post": reverse(
                        "admin:persons_insuredperson_act", args=[person.pk, "contribution"]
                    ),
                    "label": _("Record the contribution for %(period)s")
                    % {"period": f"{period:%Y-%m}" if person.is_employee else f"{period:%Y}"},
                    "confirm": _(
                        "Record %(name)s's contribution for %(period)s and move its money?"
                    )
                    % {"name": person.name, "period": f"{period:%Y-%m-%d}"},
                }
            )
        online = answers.get(Channel.ONLINE)
        waits_for_upload = online is not None and any(
            reason.code in (ReasonCode.DATA_NOT_UPLOADED, ReasonCode.FUNDS_NOT_YET_TRANSFERRED)
            for reason in online.reasons
        )
        if waits_for_upload and person.city.has_public_upload_channel:
            actions.append(
                {
                    "post": reverse("admin:persons_insuredperson_act", args=[person.pk, "upload"]),
                    "label": _("Run %(city)s's upload now") % {"city": person.city.name},
                    "confirm": _("Upload every account of %(city)s to the national platform now?")
                    % {"city": person.city.name},
                }
            )
        return actions

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The diagnosis offers its actions only to those who may change the person.
        if obj is not None:
            obj.console_can_act = self.has_change_permission(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        return [
            path(
                "<int:person_id>/act/<str:action>/",
                self.admin_site.admin_view(self.act_view),
                name="persons_insuredperson_act",
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def act_view(self, request, person_id: int, action: str):
        """One action of the person's page: one call into the domain, then back to the page."""
        person = self.get_queryset(request).filter(pk=person_id).first()
        if person is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(person_id))
        if not self.has_change_permission(request, person):
            raise PermissionDenied
        act = {
            "hand_over": self._hand_over,
            "contribution": self._record_contribution,
            "upload": self._upload,
        }.get(action)
        if act is None:
            raise PermissionDenied
        try:
            done = act(request, person)
        except DomainError as error:
            messages.error(request, error.detail)
        else:
            messages.success(request, done)
        return redirect(reverse("admin:persons_insuredperson_change", args=[person.pk]))

    def _hand_over(self, request, person) -> str:
        from cards.services import card_collect

        card = person.cards.filter(status=SocialSecurityCard.Status.READY).order_by("-id").first()
        if card is None:
            return _("No card of %(name)s is ready to hand over.") % {"name": person.name}
        card_collect(card=card, by=request.user)
        return _("Card %(number)s handed over; activate it with the person present.") % {
            "number": card.number
        }

    def _record_contribution(self, request, person) -> str:
        from accounts.services import contribution_record

        today = clock.today()
        period = _contribution_period(person, today)
        if period is None:
            return _("Retirees pay no contributions.")
        contribution = contribution_record(
            person=person, period=period, by=request.user, today=today
        )
        return _(
            "Contribution for %(period)s recorded (%(amount)s CNY to the personal account)."
        ) % {
            "period": f"{contribution.period:%Y-%m-%d}",
            "amount": contribution.account_share,
        }

    def _upload(self, request, person) -> str:
        from jobs.services import job_enqueue
        from uploads.models import CityUpload
        from uploads.services import upload_open

        upload, _created = upload_open(
            city=person.city, trigger=CityUpload.Trigger.OPERATOR, by=request.user
        )
        job_enqueue(upload)
        return _("Upload #%(id)s of %(city)s sent to the workers; it shows in the dashboard.") % {
            "id": upload.pk,
            "city": person.city.name,
        }

    @admin.display(description=_("Personal account"))
    def personal_account_link(self, person) -> str:
        account = getattr(person, "personal_account", None)
        if account is None:
            return _("none (resident personal accounts abolished in this city)")
        url = reverse("admin:accounts_account_change", args=[account.pk])
        return format_html('<a href="{}">#{}: {} CNY</a>', url, account.pk, account.balance)

    @admin.display(description=_("E-voucher"))
    def evoucher_status(self, person) -> str:
        voucher = getattr(person, "evoucher", None)
        if voucher is None:
            return _("none")
        url = reverse("admin:cards_evoucher_change", args=[voucher.pk])
        return format_html('<a href="{}">{}</a>', url, voucher.get_status_display())
