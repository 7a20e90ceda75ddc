from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from common import clock
from common.audit import AuditedHistory


class SocialSecurityCard(models.Model):
    """The physical card. A street service point makes it within 3 working days; the county
    centre issues it on the spot (it still passes through every state, in one visit)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Being made")
        READY = "READY", _("Ready for pick-up")
        ISSUED = "ISSUED", _("Issued, not activated")
        ACTIVE = "ACTIVE", _("Active")
        LOST = "LOST", _("Reported lost")

    class Site(models.TextChoices):
        COUNTY_CENTER = "COUNTY_CENTER", _("County medical-insurance centre (issued on the spot)")
        STREET_POINT = "STREET_POINT", _("Street service point (ready within 3 working days)")

    person = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="cards",
        verbose_name=_("person"),
    )
    number = models.CharField(max_length=12, unique=True, verbose_name=_("number"))
    status = FSMField(
        max_length=8, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    site = models.CharField(max_length=16, choices=Site.choices, verbose_name=_("site"))
    applied_at = models.DateTimeField(verbose_name=_("applied at"))
    ready_on = models.DateField(
        help_text=_("The working day the card is (or was) ready."), verbose_name=_("ready on")
    )
    issued_at = models.DateTimeField(null=True, blank=True, verbose_name=_("issued at"))
    activated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("activated at"))
    lost_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lost at"))
    agent_name = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Entrusted agent, if any."),
        verbose_name=_("agent name"),
    )
    agent_resident_id = models.CharField(
        max_length=18, blank=True, verbose_name=_("agent resident id")
    )
    pin_hash = models.CharField(
        max_length=128, blank=True, editable=False, verbose_name=_("pin hash")
    )
    pin_failures = models.PositiveSmallIntegerField(
        default=0,
        editable=False,
        help_text=_("Wrong PINs entered in a row at a terminal."),
        verbose_name=_("pin failures"),
    )
    pin_locked_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_("After too many wrong PINs the card pays from no account until then."),
        verbose_name=_("pin locked until"),
    )
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    # PIN attempts are counters, not the card's story.
    history = HistoricalRecords(
        bases=[AuditedHistory], excluded_fields=["pin_hash", "pin_failures", "pin_locked_until"]
    )

    class Meta:
        verbose_name = _("social security card")
        verbose_name_plural = _("social security cards")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=~models.Q(status="LOST"),
                name="one_live_card_per_person",
            ),
            models.CheckConstraint(
                condition=models.Q(agent_name="", agent_resident_id="")
                | (~models.Q(agent_name="") & ~models.Q(agent_resident_id="")),
                name="card_agent_name_and_id_together",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="ACTIVE") | ~models.Q(pin_hash=""),
                name="active_card_has_pin",
            ),
        ]
        indexes = [models.Index(fields=["status", "ready_on"])]

    def __str__(self) -> str:
        return gettext("Card %(number)s (%(status)s)") % {
            "number": self.number,
            "status": self.get_status_display(),
        }

    @transition(field=status, source=Status.PENDING, target=Status.READY)
    def mark_ready(self) -> None:
        pass

    @transition(field=status, source=Status.READY, target=Status.ISSUED)
    def issue(self, *, at) -> None:
        self.issued_at = at

    @transition(field=status, source=Status.ISSUED, target=Status.ACTIVE)
    def activate(self, *, at, pin_hash: str) -> None:
        self.activated_at = at
        self.pin_hash = pin_hash

    @transition(field=status, source=[Status.ISSUED, Status.ACTIVE], target=Status.LOST)
    def report_lost(self, *, at) -> None:
        self.lost_at = at


class EVoucherAgreement(models.Model):
    """The user agreement a person accepts to activate the e-voucher; the newest effective one is
    current."""

    version = models.CharField(max_length=16, unique=True, verbose_name=_("version"))
    title = models.CharField(max_length=128, verbose_name=_("title"))
    text = models.TextField(verbose_name=_("text"))
    effective_from = models.DateField(verbose_name=_("effective from"))

    class Meta:
        verbose_name = _("e-voucher user agreement")
        verbose_name_plural = _("e-voucher user agreements")
        ordering = ["-effective_from", "-id"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class EVoucher(models.Model):
    """The electronic medical-insurance voucher (the QR code in WeChat, Alipay or the national app)."""

    class Status(models.TextChoices):
        NOT_ACTIVATED = "NOT_ACTIVATED", _("Not activated")
        AGREEMENT_ACCEPTED = (
            "AGREEMENT_ACCEPTED",
            _("Agreement accepted, face authentication pending"),
        )
        ACTIVATED = "ACTIVATED", _("Activated")

    class Platform(models.TextChoices):
        WECHAT = "WECHAT", _("WeChat")
        ALIPAY = "ALIPAY", _("Alipay")
        NHSA_APP = "NHSA_APP", _("National medical-insurance app")
        PHARMACY = "PHARMACY", _("Designated pharmacy (offline)")

    person = models.OneToOneField(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="evoucher",
        verbose_name=_("person"),
    )
    status = FSMField(
        max_length=20,
        choices=Status.choices,
        default=Status.NOT_ACTIVATED,
        verbose_name=_("status"),
    )
    platform = models.CharField(
        max_length=8, choices=Platform.choices, blank=True, verbose_name=_("platform")
    )
    agreement = models.ForeignKey(
        EVoucherAgreement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("agreement"),
    )
    agreement_accepted_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("agreement accepted at")
    )
    activated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("activated at"))
    activated_at_institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("activated at institution"),
    )
    consecutive_failures = models.PositiveSmallIntegerField(
        default=0, verbose_name=_("consecutive failures")
    )
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    history = HistoricalRecords(bases=[AuditedHistory])

    class Meta:
        verbose_name = _("e-voucher")
        verbose_name_plural = _("e-vouchers")

    def __str__(self) -> str:
        return gettext("E-voucher of person %(person)s (%(status)s)") % {
            "person": self.person_id,
            "status": self.get_status_display(),
        }

    @transition(
        field=status,
        source=[Status.NOT_ACTIVATED, Status.AGREEMENT_ACCEPTED],
        target=Status.AGREEMENT_ACCEPTED,
    )
    def accept_agreement(self, *, agreement: EVoucherAgreement, platform: str, at) -> None:
        self.agreement = agreement
        self.platform = platform
        self.agreement_accepted_at = at

    @transition(field=status, source=Status.AGREEMENT_ACCEPTED, target=Status.ACTIVATED)
    def activate(self, *, at, institution=None) -> None:
        self.activated_at = at
        self.activated_at_institution = institution
        self.consecutive_failures = 0
        self.locked_until = None


class EVoucherPresentationCode(models.Model):
    """A short-lived code the person shows at a hospital or pharmacy (the dynamic QR code of the
    e-voucher). Only its SHA-256 digest is kept. Issuing a new one retires the previous one, so a
    voucher has at most one live code; an institution never learns it except from the person."""

    evoucher = models.ForeignKey(
        EVoucher,
        on_delete=models.CASCADE,
        related_name="presentation_codes",
        verbose_name=_("evoucher"),
    )
    digest = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("digest"))
    issued_at = models.DateTimeField(verbose_name=_("issued at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    retired_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When a newer code replaced this one."),
        verbose_name=_("retired at"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))

    class Meta:
        verbose_name = _("e-voucher code")
        verbose_name_plural = _("e-voucher codes")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evoucher"],
                condition=models.Q(retired_at__isnull=True),
                name="one_current_presentation_code_per_evoucher",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("issued_at")),
                name="presentation_code_expires_after_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"Presentation code of e-voucher {self.evoucher_id}, until {self.expires_at:%H:%M}"


class FaceAuthAttempt(models.Model):
    class Outcome(models.TextChoices):
        PASS = "PASS", _("Passed")
        FACE_MISMATCH = "FACE_MISMATCH", _("Face does not match the ID photo")
        LIVENESS_FAILED = "LIVENESS_FAILED", _("Liveness check failed")
        PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE", _("Face-authentication provider unavailable")

    evoucher = models.ForeignKey(
        EVoucher, on_delete=models.CASCADE, related_name="face_attempts", verbose_name=_("evoucher")
    )
    platform = models.CharField(
        max_length=8, choices=EVoucher.Platform.choices, verbose_name=_("platform")
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, verbose_name=_("outcome"))
    attempted_at = models.DateTimeField(verbose_name=_("attempted at"))
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))

    class Meta:
        verbose_name = _("face authentication attempt")
        verbose_name_plural = _("face authentication attempts")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} at {clock.as_text(self.attempted_at)}"
