"""The operators' console for claims: the insured city's operators see and review them (through
the same service as the API); other cities' operators do not see them."""

from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from claims.models import ReimbursementClaim
from claims.tests.helpers import file_claim, totals
from users.tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def console(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reviewer(city):
    """An operator of the insured city with the console permissions to see and change claims."""
    from django.contrib.auth.models import Permission

    user = OperatorFactory(cities=[city])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="claims",
            codename__in=[
                "view_reimbursementclaim",
                "change_reimbursementclaim",
                "review_reimbursementclaim",
            ],
        )
    )
    return user


def test_the_insured_citys_operator_reviews_a_claim_in_the_console(
    traveller, far_hospital, reviewer
):
    claim = file_claim(traveller, institution=far_hospital, category_totals=totals(A="2000.00"))
    client = console(reviewer)
    assert client.get(reverse("admin:claims_reimbursementclaim_changelist")).status_code == 200
    url = reverse("admin:claims_reimbursementclaim_change", args=[claim.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"**** 0123" in page.content

    response = client.post(
        url,
        {
            "decision": "PARTLY_APPROVE",
            "amount": "300.00",
            "decision_reason_code": "",
            "decision_reason": "One receipt is a copy.",
            # The inlines' management forms (read-only, nothing to save).
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "receipts-TOTAL_FORMS": "1",
            "receipts-INITIAL_FORMS": "1",
        },
    )
    assert response.status_code in (200, 302), response.content[:500]
    claim.refresh_from_db()
    # 2,000.00 - 1,300.00 deductible = 700.00; 85 % = 595.00; 300.00 paid.
    assert (claim.status, claim.fund_share_amount, claim.approved_amount) == (
        "PARTLY_APPROVED",
        D("595.00"),
        D("300.00"),
    )
    assert claim.reviewed_by == reviewer


def test_the_care_citys_operator_does_not_see_the_claim(traveller, far_hospital, other_city):
    from django.contrib.auth.models import Permission

    claim = file_claim(traveller, institution=far_hospital, category_totals=totals(A="100.00"))
    stranger = OperatorFactory(cities=[other_city])
    stranger.user_permissions.add(*Permission.objects.filter(content_type__app_label="claims"))
    client = console(stranger)
    url = reverse("admin:claims_reimbursementclaim_change", args=[claim.pk])
    assert client.get(url).status_code in (302, 404)
    listed = client.get(reverse("admin:claims_reimbursementclaim_changelist"))
    assert listed.status_code == 200
    assert f"/{claim.pk}/change/".encode() not in listed.content
    assert ReimbursementClaim.objects.get(pk=claim.pk).status == "SUBMITTED"


def test_an_incomplete_decision_stays_on_the_form_with_its_field_errors(
    traveller, far_hospital, reviewer
):
    claim = file_claim(traveller, institution=far_hospital, category_totals=totals(A="2000.00"))
    client = console(reviewer)
    url = reverse("admin:claims_reimbursementclaim_change", args=[claim.pk])
    response = client.post(
        url,
        {
            "decision": "PARTLY_APPROVE",
            "amount": "",
            "decision_reason_code": "",
            "decision_reason": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "receipts-TOTAL_FORMS": "1",
            "receipts-INITIAL_FORMS": "1",
        },
    )
    # The form again, each missing field named, nothing "changed successfully".
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"amount", "decision_reason"}
    assert "successfully" not in response.content.decode()
    assert ReimbursementClaim.objects.get(pk=claim.pk).status == "SUBMITTED"


def test_an_approval_in_the_console_reports_the_claim_as_it_now_stands(
    traveller, far_hospital, reviewer
):
    claim = file_claim(traveller, institution=far_hospital, category_totals=totals(A="2000.00"))
    client = console(reviewer)
    url = reverse("admin:claims_reimbursementclaim_change", args=[claim.pk])
    response = client.post(
        url,
        {
            "decision": "APPROVE",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "receipts-TOTAL_FORMS": "1",
            "receipts-INITIAL_FORMS": "1",
        },
        follow=True,
    )
    shown = " ".join(str(message) for message in response.context["messages"])
    claim.refresh_from_db()
    assert claim.status == "APPROVED"
    assert str(claim) in shown
