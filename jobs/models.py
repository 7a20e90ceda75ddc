from django.db import models


class JobDay(models.Model):
    """A business day whose due work (cards ready, collection, crediting, uploads) has been
    scheduled; each day is scheduled once, however often the scheduler runs."""

    day = models.DateField(unique=True)
    scheduled_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict, help_text="What was found due that day.")

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}"
