from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = _("Sandbox")
    default = True


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the operators' console as its site (INSTALLED_APPS names it in
    the admin's place)."""

    default = False
    default_site = "sandbox.console.ConsoleAdminSite"
