"""The operators' console for institutions: each designated hospital or pharmacy with its
terminals and its ledger account."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

import access
from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin, console_actor
from institutions.models import Institution
from users.models import User


class TerminalInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = User
    fk_name = "institution"
    fields = ["username", "is_active", "last_login"]
    readonly_fields = fields
    extra = 0
    verbose_name = "terminal"
    verbose_name_plural = "terminals (create them under Users, role Institution terminal)"


@admin.register(Institution)
class InstitutionAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "level", "city", "is_designated", "account_link"]
    list_filter = ["kind", "level", "is_designated", "city"]
    search_fields = ["code", "name"]
    list_select_related = ["city", "account"]
    inlines = [TerminalInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # settlements and the ledger refer to it; undesignate instead

    def get_readonly_fields(self, request, obj=None):
        # The city and kind decide the ledger account and the policy cell: fixed once created.
        return ["city", "kind"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "city":
            kwargs["queryset"] = access.cities_visible(console_actor(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        from provisioning.services import institution_provision

        super().save_model(request, obj, form, change)
        institution_provision(institution=obj)

    @admin.display(description=_("Ledger account"))
    def account_link(self, institution) -> str:
        account = getattr(institution, "account", None)
        if account is None:
            return "-"
        url = reverse("admin:accounts_account_change", args=[account.pk])
        return format_html('<a href="{}">{} CNY</a>', url, account.balance)
