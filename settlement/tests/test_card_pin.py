"""A card number is no secret: whoever once saw the card has it. Paying from the personal account
with a card therefore needs the PIN the cardholder enters at the terminal; wrong PINs in a row
lock the card's PIN until the end of the day (on the domain clock), counted even though each
refused settlement is rolled back, and counted one by one when they arrive together."""

import logging
import threading
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from api.idempotency import request_fingerprint
from cards.credentials import PresentedCredential
from cards.error_codes import CardErrorCode
from cards.models import SocialSecurityCard
from cards.services import evoucher_presentation_code_issue
from common.errors import DomainError
from common.models import IdempotencyRecord
from settlement.models import Settlement
from settlement.services import settlement_submit
from settlement.tests.factories import TEST_PIN, activated_evoucher
from settlement.tests.helpers import balance, lines, money_state
from tests.support import set_clock
from users.tests.factories import token_for

URL = "/api/v1/settlements"
WRONG_PIN = "741852"
BODY = {
    "visit_type": "OUTPATIENT",
    "use_personal_account": True,
    "line_items": [{"code": "T-A", "quantity": "1", "unit_price": "80.00"}],
}


@pytest.fixture
def afternoon():
    """Tomorrow at 15:30 local time (the person is enrolled by then): the lock runs 8.5 hours."""
    local = timezone.localtime(timezone.now())
    moment = datetime.combine(local.date() + timedelta(days=1), time(15, 30), tzinfo=local.tzinfo)
    set_clock(moment)
    return moment


def settle_with(client, person, pin: str | None = None, **overrides):
    headers = {"HTTP_X_PRESENTED_CREDENTIAL": f"CARD {person.card.number}"}
    if pin is not None:
        headers["HTTP_X_CARD_PIN"] = pin
    return client.post(URL, {**BODY, **overrides}, format="json", **headers)


def card_row(person) -> SocialSecurityCard:
    return SocialSecurityCard.objects.get(pk=person.card.pk)


@pytest.mark.django_db
class TestOneTerminal:
    @pytest.fixture(autouse=True)
    def _items(self, item_a, afternoon):
        pass

    def test_without_the_pin_the_card_does_not_pay_from_the_account(
        self, terminal_client, employee
    ):
        before = money_state()
        response = settle_with(terminal_client, employee)
        assert response.status_code == 403
        problem = response.json()
        assert problem["code"] == "CARD_PIN_REQUIRED"
        assert "X-Card-PIN" in problem["detail"]
        assert money_state() == before

    def test_a_wrong_pin_is_refused_and_counted_after_the_settlement_is_rolled_back(
        self, terminal_client, employee
    ):
        before = money_state()
        response = settle_with(terminal_client, employee, WRONG_PIN, visit_reference="V-1")
        assert response.status_code == 403
        assert response.json()["code"] == "CARD_PIN_INCORRECT"
        assert response.json()["attempts_left"] == 4
        assert money_state() == before
        assert card_row(employee).pin_failures == 1
        # Not a 6-digit PIN is as wrong as any other.
        assert settle_with(terminal_client, employee, "12345x").json()["attempts_left"] == 3

    def test_the_right_pin_pays_and_clears_the_count(self, terminal_client, employee):
        for _ in range(4):
            assert settle_with(terminal_client, employee, WRONG_PIN).status_code == 403
        paid = settle_with(terminal_client, employee, TEST_PIN)
        assert paid.status_code == 201, paid.content
        assert paid.json()["breakdown"]["personal_account"] == "80.00"
        assert card_row(employee).pin_failures == 0
        # Four more wrong ones do not lock: the count started again.
        for _ in range(4):
            wrong = settle_with(terminal_client, employee, WRONG_PIN)
        assert wrong.json()["attempts_left"] == 1

    def test_five_wrong_pins_lock_the_card_until_the_end_of_the_day(
        self, terminal_client, employee, afternoon
    ):
        before = balance(employee)
        answers = [settle_with(terminal_client, employee, WRONG_PIN) for _ in range(5)]
        assert [a.json()["code"] for a in answers] == ["CARD_PIN_INCORRECT"] * 4 + [
            "CARD_PIN_LOCKED"
        ]
        midnight = datetime.combine(
            afternoon.date() + timedelta(days=1), time.min, tzinfo=afternoon.tzinfo
        )
        # Even the right PIN is not looked at while locked; cash only, or the e-voucher.
        locked = settle_with(terminal_client, employee, TEST_PIN)
        assert locked.status_code == 409
        problem = locked.json()
        assert problem["code"] == "CARD_PIN_LOCKED"
        assert problem["locked_until"] == midnight.isoformat()
        assert locked["Retry-After"] == str(int((midnight - afternoon).total_seconds()) + 1)
        assert "simulated clock" in problem["detail"]
        assert balance(employee) == before
        cash = settle_with(terminal_client, employee, use_personal_account=False)
        assert cash.status_code == 201, cash.content

        set_clock(midnight + timedelta(minutes=1))
        paid = settle_with(terminal_client, employee, TEST_PIN, visit_reference="next-day")
        assert paid.status_code == 201, paid.content

    def test_a_cash_only_settlement_with_a_card_needs_no_pin(self, terminal_client, employee):
        before = balance(employee)
        response = settle_with(terminal_client, employee, use_personal_account=False)
        assert response.status_code == 201, response.content
        assert response.json()["personal_account"] is None
        assert balance(employee) == before

    def test_an_e_voucher_pays_from_the_account_without_a_pin(self, terminal_client, employee):
        activated_evoucher(employee)
        shown = evoucher_presentation_code_issue(person=employee)
        response = terminal_client.post(
            URL, BODY, format="json", HTTP_X_PRESENTED_CREDENTIAL=f"EVOUCHER {shown.code}"
        )
        assert response.status_code == 201, response.content
        assert response.json()["breakdown"]["personal_account"] == "80.00"

    def test_the_service_refuses_a_card_whose_pin_was_not_checked(self, hospital, employee):
        # Whoever calls the service directly cannot skip the PIN either.
        unchecked = PresentedCredential("CARD", employee.card.number, employee.pk)
        with pytest.raises(DomainError) as refused:
            settlement_submit(
                institution=hospital,
                credential=unchecked,
                visit_type="OUTPATIENT",
                lines=lines(("T-A", "1", "80.00")),
                use_personal_account=True,
                by=None,
            )
        assert refused.value.code == CardErrorCode.CARD_PIN_REQUIRED
        assert not Settlement.objects.exists()

    def test_the_pin_is_kept_nowhere_and_is_not_part_of_the_fingerprint(
        self, terminal_client, terminal, employee, caplog
    ):
        with caplog.at_level(logging.DEBUG):
            wrong = settle_with(terminal_client, employee, WRONG_PIN)
            paid = terminal_client.post(
                URL,
                BODY,
                format="json",
                HTTP_X_PRESENTED_CREDENTIAL=f"CARD {employee.card.number}",
                HTTP_X_CARD_PIN=TEST_PIN,
                HTTP_IDEMPOTENCY_KEY="visit-1",
            )
        assert paid.status_code == 201, paid.content
        for response in (wrong, paid):
            assert TEST_PIN not in response.content.decode()
            assert WRONG_PIN not in response.content.decode()
            assert not any(TEST_PIN in value for value in response.headers.values())
        assert TEST_PIN not in caplog.text and WRONG_PIN not in caplog.text
        record = IdempotencyRecord.objects.get(key="visit-1")
        assert TEST_PIN not in str(record.response_body) + str(record.response_headers)

        # The fingerprint is a hash of what it covers; a 6-digit PIN inside it could be recovered
        # by trying every PIN, so it covers none.
        def fingerprint(pin: str) -> str:
            raw = APIRequestFactory().post(
                URL,
                BODY,
                format="json",
                HTTP_X_PRESENTED_CREDENTIAL=f"CARD {employee.card.number}",
                HTTP_X_CARD_PIN=pin,
            )
            request = Request(raw, parsers=[JSONParser()])
            request.user = terminal
            return request_fingerprint(request)

        assert fingerprint(TEST_PIN) == fingerprint(WRONG_PIN) == record.fingerprint


@pytest.mark.django_db(transaction=True)
def test_wrong_pins_arriving_together_are_counted_one_by_one(terminal, employee, item_a, afternoon):
    """Eight wrong PINs at once, each on its own connection: the first four are answered as
    wrong, the fifth locks the card, the rest find it locked; none is lost to a race."""
    authorization = token_for(terminal)
    start = threading.Barrier(8)
    codes: list[str] = []
    errors: list[BaseException] = []

    def guess():
        from django.db import connection

        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=authorization)
            start.wait()
            codes.append(settle_with(client, employee, WRONG_PIN).json()["code"])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(codes) == ["CARD_PIN_INCORRECT"] * 4 + ["CARD_PIN_LOCKED"] * 4
    card = card_row(employee)
    assert card.pin_locked_until is not None and card.pin_failures == 0
    assert not Settlement.objects.exists()
