"""The interface in the console: each institution's message log and its terminals' sign-ins,
read-only (only the interface writes them), seen by the operators of the institution's city."""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.admin import CityScopedAdminMixin, ReadOnlyAdminMixin
from fsi.models import Message, SignIn


def _pretty(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, ensure_ascii=False, indent=2),
    )


@admin.register(Message)
class MessageAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "institution__city_id"
    list_display = [
        "id",
        "institution",
        "infno",
        "msgid",
        "outcome",
        "infcode",
        "error_code",
        "business_time",
        "duration_ms",
        "request_id",
    ]
    list_filter = ["institution", "infno", "infcode", "outcome"]
    search_fields = ["=msgid", "=request_id", "=inf_refmsgid"]
    list_select_related = ["institution"]
    date_hierarchy = "business_time"
    readonly_fields = ["request_pretty", "response_pretty"]
    exclude = ["request", "response"]

    @admin.display(description=_("Request"))
    def request_pretty(self, obj: Message):
        return _pretty(obj.request)

    @admin.display(description=_("Response"))
    def response_pretty(self, obj: Message):
        return _pretty(obj.response)


@admin.register(SignIn)
class SignInAdmin(CityScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    city_lookup = "institution__city_id"
    list_display = [
        "sign_no",
        "institution",
        "user",
        "opter_no",
        "opter_name",
        "signed_in_at",
        "signed_out_at",
    ]
    list_filter = ["institution"]
    search_fields = ["=sign_no", "opter_no", "opter_name"]
    list_select_related = ["institution", "user"]
    date_hierarchy = "signed_in_at"
