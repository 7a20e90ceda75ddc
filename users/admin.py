from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from users.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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
        ("Role and scope", {"fields": ["role", "institution", "cities"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        ("Role and scope", {"fields": ["role", "institution", "cities"]}),
    ]
