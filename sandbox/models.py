from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# A world's cities take division codes no real city has (83xxxx to 89xxxx): 830000 + slot * 10 +
# the profile's place in the catalogue, so a slot gives each of the (at most ten) profiles a code.
WORLD_CODE_BASE = 830000
WORLD_SLOTS = 6999


class SandboxWorld(models.Model):
    """A sandbox developer's own world, Stripe test-clock style: cities (one per profile the
    developer's scenarios use) and the persons in them, on a simulated clock of its own that only
    its owner moves. The shared demo world is not one: it runs on the shared clock."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sandbox_worlds",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=64, blank=True)
    slot = models.PositiveSmallIntegerField(
        _("slot"),
        unique=True,
        help_text=_("Gives the world's cities their division codes and its clock its id."),
    )
    clock = models.OneToOneField(
        "common.SimulatedClock",
        on_delete=models.PROTECT,
        related_name="world",
        verbose_name=_("clock"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sandbox world")
        verbose_name_plural = _("sandbox worlds")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(slot__gte=1, slot__lte=WORLD_SLOTS),
                name="sandbox_world_slot_in_range",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"World {self.pk}"

    def city_code(self, profile_index: int) -> str:
        return str(WORLD_CODE_BASE + self.slot * 10 + profile_index)
