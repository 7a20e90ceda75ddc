from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import (
    Account,
    Contribution,
    ContributionCollection,
    Crediting,
    CreditingRun,
    Entry,
    Transfer,
)
from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin, RecordedJobAdminMixin


@admin.register(Account)
class AccountAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "city", "owner", "balance_shown", "entries_link"]
    list_filter = ["kind", "city"]
    search_fields = ["person__resident_id", "person__name", "institution__name", "id"]
    list_select_related = ["city", "person", "institution"]
    readonly_fields = ["balance_shown"]

    def get_queryset(self, request):
        # The whole balance (own row and stripes) of every account listed, in the list's query.
        return super().get_queryset(request).with_balance_total()

    @admin.display(description=_("Balance"), ordering="balance_total")
    def balance_shown(self, account):
        return account.balance_total

    @admin.display(description="Owner")
    def owner(self, account) -> str:
        return str(account.person or account.institution or account.city)

    @admin.display(description="Ledger")
    def entries_link(self, account) -> str:
        url = reverse("admin:accounts_entry_changelist") + f"?account__id__exact={account.pk}"
        return format_html('<a href="{}">entries</a>', url)


class EntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Entry
    fields = ["account", "amount"]
    readonly_fields = fields
    extra = 0


@admin.register(Transfer)
class TransferAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "entries__account__city_id"  # no transfer crosses cities
    list_display = ["id", "kind", "memo", "posted_at", "created_by", "request_id"]
    list_filter = ["kind"]
    search_fields = ["key", "memo", "request_id"]
    date_hierarchy = "posted_at"
    inlines = [EntryInline]
    list_select_related = ["created_by"]


@admin.register(Entry)
class EntryAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "account__city_id"
    list_display = ["id", "account", "amount", "transfer_kind", "memo", "posted_at"]
    list_filter = ["transfer__kind", "account__kind"]
    search_fields = ["transfer__memo", "transfer__request_id", "account__person__resident_id"]
    list_select_related = ["transfer", "account"]

    @admin.display(description="Kind")
    def transfer_kind(self, entry) -> str:
        return entry.transfer.get_kind_display()

    @admin.display(description="Memo")
    def memo(self, entry) -> str:
        return entry.transfer.memo

    @admin.display(description="Posted at")
    def posted_at(self, entry):
        return entry.transfer.posted_at


@admin.register(Contribution)
class ContributionAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "person__city_id"
    list_display = [
        "person",
        "kind",
        "period",
        "payment_base",
        "employer_amount",
        "individual_amount",
        "subsidy_amount",
    ]
    list_filter = ["kind", "period", "person__city"]
    search_fields = ["person__resident_id", "person__name"]
    list_select_related = ["person"]


@admin.register(CreditingRun)
class CreditingRunAdmin(RecordedJobAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "city",
        "period",
        "coloured_status",
        "progress",
        "credited_count",
        "credited_amount",
        "executions",
        "finished_at",
    ]
    list_filter = ["status", "city", "period"]


@admin.register(ContributionCollection)
class ContributionCollectionAdmin(RecordedJobAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "city",
        "period",
        "coloured_status",
        "progress",
        "collected_count",
        "collected_amount",
        "executions",
        "finished_at",
    ]
    list_filter = ["status", "city", "period"]


@admin.register(Crediting)
class CreditingAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "account__city_id"
    list_display = ["account", "period", "amount", "run"]
    list_filter = ["period"]
    search_fields = ["account__person__resident_id"]
