from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import Contribution, ContributionArrear
from cards.models import SocialSecurityCard
from common import clock
from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin
from inquiry.answer import balance_every_channel
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
    verbose_name = "month the employer left unpaid"
    verbose_name_plural = "months the employer left unpaid (Paid at: paid with its arrears)"


@admin.register(InsuredPerson)
class InsuredPersonAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "resident_id",
        "name",
        "city",
        "scheme",
        "employment_status",
        "subsidy_category",
        "enrolled_on",
    ]
    list_filter = ["city", "scheme", "employment_status", "subsidy_category"]
    search_fields = ["resident_id", "name"]
    list_select_related = ["city"]
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
            "Scheme",
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
        ("Balance: what each channel would answer now", {"fields": ["balance_by_channel"]}),
        ("Account and e-voucher", {"fields": ["personal_account_link", "evoucher_status"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Enrolment goes through the service (it opens the account and the e-voucher): no adding here;
        # the identity of an enrolled person does not change.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "resident_id", "city", "scheme"] if obj else fields

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Diagnosis")
    def balance_by_channel(self, person) -> str:
        rows = []
        answers = balance_every_channel(person_id=person.pk, now=clock.now())
        for channel, diagnosis in answers.items():
            shown = (
                f"{diagnosis.amount:.2f} CNY ({diagnosis.source})"
                if diagnosis.visible
                else "hidden"
            )
            reasons = "; ".join(
                f"{reason.code}: {reason.detail} Remedy: {reason.remedy}"
                for reason in diagnosis.reasons
            )
            rows.append((channel.label, shown, reasons or "none"))
        notices = next(iter(answers.values())).notices  # the same on every channel
        return format_html(
            "<table><tr><th>Channel</th><th>Balance</th><th>Reasons, in order</th></tr>{}</table>{}",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
            format_html_join(
                "",
                "<p>Beside the balance, {}: {} What to do: {}</p>",
                ((notice.code, notice.detail, notice.remedy) for notice in notices),
            ),
        )

    @admin.display(description="Personal account")
    def personal_account_link(self, person) -> str:
        account = getattr(person, "personal_account", None)
        if account is None:
            return "none (resident personal accounts abolished in this city)"
        url = reverse("admin:accounts_account_change", args=[account.pk])
        return format_html('<a href="{}">#{}: {} CNY</a>', url, account.pk, account.balance)

    @admin.display(description="E-voucher")
    def evoucher_status(self, person) -> str:
        voucher = getattr(person, "evoucher", None)
        if voucher is None:
            return "none"
        url = reverse("admin:cards_evoucher_change", args=[voucher.pk])
        return format_html('<a href="{}">{}</a>', url, voucher.get_status_display())
