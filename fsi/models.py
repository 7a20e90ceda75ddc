"""What the interface keeps: its terminals' sign-ins and every message with its answer."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SignIn(models.Model):
    """A terminal's sign-in (9001) at its institution, open until signed out (9002). Every other
    transaction names an open sign-in of its institution by ``sign_no``."""

    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="fsi_sign_ins",
        verbose_name=_("institution"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    sign_no = models.CharField(max_length=30, unique=True, verbose_name=_("sign no"))
    opter_no = models.CharField(_("operator number"), max_length=30, blank=True)
    opter_name = models.CharField(_("operator name"), max_length=50, blank=True)
    opter_type = models.CharField(_("operator type"), max_length=3, blank=True)
    mac = models.CharField(_("MAC address"), max_length=20, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    signed_in_at = models.DateTimeField(
        help_text=_(_(_("Business time."))), verbose_name=_("signed in at")
    )
    sign_in_msgid = models.CharField(max_length=64, verbose_name=_("sign in msgid"))
    signed_out_at = models.DateTimeField(
        null=True, blank=True, help_text=_(_(_("Business time."))), verbose_name=_("signed out at")
    )
    sign_out_msgid = models.CharField(max_length=64, blank=True, verbose_name=_("sign out msgid"))
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")
        ordering = ["-id"]
        indexes = [models.Index(fields=["institution", "-signed_in_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(signed_out_at__isnull=True, sign_out_msgid="")
                | models.Q(signed_out_at__isnull=False),
                name="fsi_sign_out_fields_together",
            )
        ]

    def __str__(self) -> str:
        return f"Sign-in {self.sign_no}"

    @property
    def is_open(self) -> bool:
        return self.signed_out_at is None


class Message(models.Model):
    """One message an institution sent and the answer it got.

    The row that carried a msgid out (``claims_msgid``) is unique per institution and msgid: it
    is written in the same database transaction as the transaction's work, so the work and its
    record commit together or not at all, and a concurrent copy waits on the unique index, then
    answers the stored response. Replays, refusals and copies with another body are kept too, as
    rows that claim nothing.
    """

    class Outcome(models.TextChoices):
        DONE = "DONE", _("Carried out")
        REFUSED = "REFUSED", _("Refused (nothing done)")
        REPLAYED = "REPLAYED", _("Repeat answered with the stored response")
        VOIDED = "VOIDED", _("Corrected before it arrived (2601)")

    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        related_name="fsi_messages",
        verbose_name=_("institution"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    msgid = models.CharField(max_length=64, blank=True, verbose_name=_("msgid"))
    infno = models.CharField(max_length=8, blank=True, verbose_name=_("infno"))
    sign_no = models.CharField(max_length=30, blank=True, verbose_name=_("sign no"))
    claims_msgid = models.BooleanField(
        default=False,
        help_text=_("The message that carried this msgid out (one per msgid)."),
        verbose_name=_("claims msgid"),
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices, verbose_name=_("outcome"))
    infcode = models.SmallIntegerField(null=True, blank=True, verbose_name=_("infcode"))
    error_code = models.CharField(max_length=64, blank=True, verbose_name=_("error code"))
    fingerprint = models.CharField(max_length=64, blank=True, verbose_name=_("fingerprint"))
    request = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("The envelope as received."),
        verbose_name=_("request"),
    )
    response = models.JSONField(
        default=dict, blank=True, help_text=_("The envelope answered."), verbose_name=_("response")
    )
    inf_refmsgid = models.CharField(max_length=40, blank=True, verbose_name=_("inf refmsgid"))
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))
    business_time = models.DateTimeField(
        help_text=_("The domain's clock when it arrived."), verbose_name=_("business time")
    )
    received_at = models.DateTimeField(help_text=_("Real time."), verbose_name=_("received at"))
    duration_ms = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, verbose_name=_("duration ms")
    )
    corrected_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrected by"),
    )
    corrected_at = models.DateTimeField(
        null=True, blank=True, help_text=_(_(_("Business time."))), verbose_name=_("corrected at")
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["institution", "-id"]),
            models.Index(fields=["institution", "msgid"]),
            models.Index(fields=["request_id"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "msgid"],
                condition=models.Q(claims_msgid=True),
                name="fsi_one_message_claims_each_msgid",
            ),
            models.CheckConstraint(
                condition=models.Q(claims_msgid=False) | models.Q(outcome__in=["DONE", "VOIDED"]),
                name="fsi_only_done_or_voided_claims",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.infno} {self.msgid}"
