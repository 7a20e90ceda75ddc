"""The console's template filters: a recorded job's link and progress bar."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from common.admin import progress_bar

register = template.Library()


@register.filter
def console_progress(job) -> str:
    return progress_bar(job)


@register.filter
def console_job_link(job) -> str:
    """The job's kind and number, linking to its list filtered to its city."""
    opts = job._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return format_html(
        '<a href="{}?city__id__exact={}">{} #{}</a>',
        url,
        job.city_id,
        str(opts.verbose_name).capitalize(),
        job.pk,
    )
