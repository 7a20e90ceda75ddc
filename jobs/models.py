from django.db import models
from django.utils.translation import gettext_lazy as _


class JobDay(models.Model):
    """A business day whose due work (cards ready, collection, crediting, uploads) has been
    scheduled; each day is scheduled once, however often the scheduler runs."""

    day = models.DateField(verbose_name=_("day"))
    # Each simulated clock (the shared one, 1, and each sandbox world's) schedules its own days.
    clock = models.PositiveSmallIntegerField(
        default=1,
        help_text=_("The simulated clock whose cities this day's work is for."),
        verbose_name=_("clock"),
    )
    scheduled_at = models.DateTimeField(auto_now_add=True, verbose_name=_("scheduled at"))
    summary = models.JSONField(
        default=dict, help_text=_("What was found due that day."), verbose_name=_("summary")
    )

    class Meta:
        verbose_name = _("job day")
        verbose_name_plural = _("job days")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "day"], name="job_day_once_per_clock")
        ]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}"
