"""Reads about reimbursement claims."""

from django.db.models import QuerySet


def claim_list(*, visible: QuerySet) -> QuerySet:
    """The claims a caller may see (``access.reimbursement_claims_visible``), newest first, with
    what their answers show."""
    return (
        visible.select_related("insured_city", "care_city", "institution", "reviewed_by")
        .prefetch_related("lines", "receipts")
        .order_by("-id")
    )
