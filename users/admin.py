from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from knox.admin import AuthTokenAdmin as KnoxAuthTokenAdmin
from knox.models import AuthToken

from common.admin import SuperuserOnlyAdminMixin
from users.models import User

# Logins, their groups and tokens decide who may do what: superusers only (an operator who could
# edit a user could give themselves every city, or make themselves a superuser).
admin.site.unregister(Group)
admin.site.unregister(AuthToken)


@admin.register(Group)
class GroupAdmin(SuperuserOnlyAdminMixin, DjangoGroupAdmin):
    pass


@admin.register(AuthToken)
class AuthTokenAdmin(SuperuserOnlyAdminMixin, KnoxAuthTokenAdmin):
    pass


@admin.register(User)
class UserAdmin(SuperuserOnlyAdminMixin, DjangoUserAdmin):
    list_display = [
        "username",
        "role",
        "institution",
        "is_staff",
        "is_superuser",
        "is_active",
        "last_login",
    ]
    list_filter = ["role", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    filter_horizontal = ["cities", "groups", "user_permissions"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Role and scope"), {"fields": ["role", "institution", "cities"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        (_("Role and scope"), {"fields": ["role", "institution", "cities"]}),
    ]
