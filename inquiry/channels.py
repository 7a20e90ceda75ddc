"""The channels a balance query can come through; each shows the balance from its own source
and meets its own reasons."""

from django.db import models


class Channel(models.TextChoices):
    ONLINE = "ONLINE", "Online (e-voucher platforms)"
    INSTITUTION = "INSTITUTION", "Designated institution"
    COUNTER = "COUNTER", "Agency counter"
    HOTLINE = "HOTLINE", "Hotline"
