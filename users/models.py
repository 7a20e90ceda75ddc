from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """Everyone who calls the API or signs in to the admin. The role decides the channel a
    balance query goes through and what the caller may see."""

    class Role(models.TextChoices):
        INSURED = "INSURED", _("Insured person")
        INSTITUTION = "INSTITUTION", _("Institution terminal")
        OPERATOR = "OPERATOR", _("Operator")
        # In sandbox mode: administers the cities of their own sandbox worlds, on their clocks.
        DEVELOPER = "DEVELOPER", _("Sandbox developer")

    role = models.CharField(
        max_length=16, choices=Role.choices, default=Role.INSURED, verbose_name=_("role")
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="terminals",
        help_text=_(
            "For an institution terminal: the designated hospital or pharmacy it belongs to."
        ),
        verbose_name=_("institution"),
    )
    cities = models.ManyToManyField(
        "cities.City",
        blank=True,
        related_name="operators",
        help_text=_("For an operator: the cities they administer."),
        verbose_name=_("cities"),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(role="INSTITUTION", institution__isnull=False)
                    | (~models.Q(role="INSTITUTION") & models.Q(institution__isnull=True))
                ),
                name="user_institution_iff_terminal",
            )
        ]

    def __str__(self) -> str:
        return self.username
