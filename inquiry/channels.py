"""The channels a balance query can come through; each shows the balance from its own source
and meets its own reasons."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    ONLINE = "ONLINE", _("Online (e-voucher platforms)")
    INSTITUTION = "INSTITUTION", _("Designated institution")
    COUNTER = "COUNTER", _("Agency counter")
    HOTLINE = "HOTLINE", _("Hotline")
