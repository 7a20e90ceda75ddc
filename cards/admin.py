from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from cards.models import EVoucher, EVoucherAgreement, FaceAuthAttempt, SocialSecurityCard
from common.admin import CityScopedAdminMixin, NationalAdminMixin, ReadOnlyAdminMixin
from common.errors import DomainError


class ActivateCardForm(forms.Form):
    pin = forms.CharField(
        min_length=6,
        max_length=6,
        widget=forms.PasswordInput,
        help_text=_("The person types a 6-digit PIN."),
    )


@admin.register(SocialSecurityCard)
class SocialSecurityCardAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    city_lookup = "person__city_id"
    list_display = [
        "number",
        "person",
        "status",
        "site",
        "applied_at",
        "ready_on",
        "activated_at",
        "agent_name",
    ]
    list_filter = ["status", "site", "person__city"]
    search_fields = ["number", "person__resident_id", "person__name"]
    list_select_related = ["person"]
    readonly_fields = [
        field.name for field in SocialSecurityCard._meta.fields if field.name not in ("id",)
    ]
    actions = ["hand_over", "report_lost"]
    change_form_template = "admin/cards/card_change_form.html"

    def has_add_permission(self, request) -> bool:
        return (
            False  # applications go through the counter flow (API), which checks the IDs presented
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<int:card_id>/activate/",
                self.admin_site.admin_view(self.activate_view),
                name="cards_card_activate",
            ),
            *super().get_urls(),
        ]

    def activate_view(self, request, card_id: int):
        from cards.services import card_activate

        card = self.get_queryset(request).filter(pk=card_id).first()
        if card is None:  # no such card, or not in the cities this operator administers
            return self._get_obj_does_not_exist_redirect(request, self.opts, str(card_id))
        if not self.has_change_permission(request, card):
            raise PermissionDenied
        form = ActivateCardForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                card_activate(card=card, pin=form.cleaned_data["pin"], by=request.user)
            except DomainError as error:
                messages.error(request, error.detail)
            else:
                messages.success(request, _("Card %(number)s is active.") % {"number": card.number})
                return redirect(reverse("admin:cards_socialsecuritycard_change", args=[card.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Activate card %(number)s") % {"number": card.number},
            "form": form,
            "card": card,
        }
        return TemplateResponse(request, "admin/cards/activate_card.html", context)

    def _each(self, request, queryset, service, done: str):
        for card in queryset:
            try:
                service(card=card, by=request.user)
            except DomainError as error:
                messages.warning(
                    request,
                    _("%(number)s: %(detail)s") % {"number": card.number, "detail": error.detail},
                )
            else:
                messages.success(
                    request, _("%(number)s: %(done)s.") % {"number": card.number, "done": done}
                )

    @admin.action(description=_("Hand the selected ready cards over to their holders"))
    def hand_over(self, request, queryset):
        from cards.services import card_collect

        self._each(request, queryset, card_collect, _("handed over"))

    @admin.action(description=_("Report the selected cards lost"))
    def report_lost(self, request, queryset):
        from cards.services import card_report_lost

        self._each(request, queryset, card_report_lost, _("reported lost"))


class FaceAuthAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = FaceAuthAttempt
    fields = ["attempted_at", "platform", "outcome", "request_id"]
    readonly_fields = fields
    extra = 0


@admin.register(EVoucher)
class EVoucherAdmin(CityScopedAdminMixin, SimpleHistoryAdmin):
    city_lookup = "person__city_id"
    list_display = ["person", "status", "platform", "activated_at", "locked_until"]
    list_filter = ["status", "platform", "person__city"]
    search_fields = ["person__resident_id", "person__name"]
    list_select_related = ["person"]
    readonly_fields = [field.name for field in EVoucher._meta.fields if field.name != "id"]
    inlines = [FaceAuthAttemptInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EVoucherAgreement)
class EVoucherAgreementAdmin(NationalAdminMixin, admin.ModelAdmin):
    """One agreement for the whole country: operators read it, superusers publish."""

    list_display = ["version", "title", "effective_from"]
    search_fields = ["version", "title"]
