"""Sign-in and sign-out, and the msgid as the idempotency key: a repeat answers the stored
response, another body is refused, and ten copies sent at once carry the message out once."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from fsi.models import Message, SignIn
from users.tests.factories import TerminalFactory

from .conftest import SERVICE, Terminal
from .test_outpatient import catalog as catalog  # a fixture

pytestmark = pytest.mark.django_db


def test_sign_in_gives_a_sign_no_kept_with_the_operator(terminal):
    answer = terminal.send(
        "9001", {"signIn": {"opter_no": "0042", "mac": "00-1A-2B-3C-4D-5E", "ip": "10.0.0.8"}}
    )
    assert answer["infcode"] == 0
    out = answer["output"]["signinoutb"]
    assert out["sign_time"] == "2026-11-02 09:00:00" and len(out["sign_no"]) == 30
    sign_in = SignIn.objects.get(sign_no=out["sign_no"])
    assert sign_in.institution == terminal.institution and sign_in.user == terminal.user
    assert (sign_in.opter_no, sign_in.opter_name, sign_in.ip) == ("0042", "Clerk Li", "10.0.0.8")
    assert sign_in.is_open


def test_sign_in_needs_the_operator_number(terminal):
    answer = terminal.send("9001", {"signIn": {"mac": "x"}})
    assert answer["extension"]["code"] == "INPUT_INVALID"
    assert answer["extension"]["errors"][0]["field"] == "input.signIn.opter_no"
    assert not SignIn.objects.exists()


def test_sign_out_closes_the_sign_in_and_later_messages_are_refused(signed_in):
    sign_no = signed_in.sign_no
    answer = signed_in.send("9002", {"signOut": {"sign_no": sign_no, "opter_no": "0001"}})
    assert answer["infcode"] == 0 and answer["output"]["signoutoutb"]["sign_time"]
    assert not SignIn.objects.get(sign_no=sign_no).is_open
    again = signed_in.send("9002", {"signOut": {"sign_no": sign_no}})
    assert again["extension"]["code"] == "SIGN_IN_REQUIRED"


def test_one_cannot_sign_out_another_institutions_sign_in(signed_in):
    other = Terminal(TerminalFactory())
    theirs = other.sign_in()
    answer = signed_in.send("9002", {"signOut": {"sign_no": theirs}})
    assert answer["extension"]["code"] == "SIGN_IN_REQUIRED"
    assert SignIn.objects.get(sign_no=theirs).is_open


def test_a_repeated_msgid_answers_the_stored_response(terminal):
    envelope = terminal.envelope("9001", {"signIn": {"opter_no": "0001"}})
    first = terminal.post(envelope).json()
    # A retry may carry another time and device; the message is the same.
    second = terminal.post(envelope | {"inf_time": "2026-11-02 09:00:05"}).json()
    assert first["infcode"] == 0 and second["extension"]["replayed"] is True
    assert second["inf_refmsgid"] == first["inf_refmsgid"]
    assert second["output"] == first["output"]
    assert SignIn.objects.count() == 1
    outcomes = list(Message.objects.order_by("id").values_list("outcome", "claims_msgid"))
    assert outcomes == [("DONE", True), ("REPLAYED", False)]


def test_a_msgid_reused_for_another_message_is_refused(terminal):
    envelope = terminal.envelope("9001", {"signIn": {"opter_no": "0001"}})
    first = terminal.post(envelope).json()
    other = terminal.post(envelope | {"input": {"signIn": {"opter_no": "0002"}}}).json()
    assert other["infcode"] == -1 and other["extension"]["code"] == "MSGID_REUSED"
    assert other["extension"]["original_inf_refmsgid"] == first["inf_refmsgid"]
    assert SignIn.objects.count() == 1


def test_a_refused_msgid_may_be_sent_again_corrected(terminal):
    envelope = terminal.envelope("9001", {"signIn": {}})
    assert terminal.post(envelope).json()["extension"]["code"] == "INPUT_INVALID"
    corrected = terminal.post(envelope | {"input": {"signIn": {"opter_no": "0001"}}}).json()
    assert corrected["infcode"] == 0 and SignIn.objects.count() == 1


def _post_all(url: str, authorization: str, body: bytes, copies: int) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(copies)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send():
        request = urllib.request.Request(  # noqa: S310 (the live server's http URL)
            url,
            data=body,
            headers={"Content-Type": "application/json", "Authorization": authorization},
            method="POST",
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                result = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            result = (error.code, json.loads(error.read() or b"{}"))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_ten_copies_sent_at_once_sign_in_once(live_server, terminal):
    """Ten threads against the live server, each its own connection and transaction: the copies
    wait on the msgid's unique index and answer the one sign-in."""
    body = json.dumps(terminal.envelope("9001", {"signIn": {"opter_no": "0001"}})).encode()
    results = _post_all(live_server.url + SERVICE, terminal.authorization, body, 10)
    assert [status for status, _ in results] == [200] * 10
    answers = [answer for _, answer in results]
    assert {answer["infcode"] for answer in answers} == {0}
    assert len({answer["output"]["signinoutb"]["sign_no"] for answer in answers}) == 1
    assert len({answer["inf_refmsgid"] for answer in answers}) == 1
    assert sorted(answer["extension"]["replayed"] for answer in answers) == [False] + [True] * 9
    assert SignIn.objects.count() == 1
    assert Message.objects.filter(claims_msgid=True).count() == 1
    assert Message.objects.filter(outcome="REPLAYED").count() == 9


@pytest.mark.django_db(transaction=True)
def test_ten_copies_of_a_settlement_sent_at_once_post_once(
    live_server, signed_in, employee, settling_transaction
):
    from accounts.models import Account, Transfer
    from settlement.models import Settlement

    before = Account.objects.get(person=employee).balance
    envelope = signed_in.envelope(
        settling_transaction, {"data": {"psn_no": str(employee.pk), "card": employee.card.number}}
    )
    results = _post_all(
        live_server.url + SERVICE, signed_in.authorization, json.dumps(envelope).encode(), 10
    )
    answers = [answer for status, answer in results if status == 200]
    assert len(answers) == 10 and {answer["infcode"] for answer in answers} == {0}, answers
    assert len({answer["output"]["setlinfo"]["setl_id"] for answer in answers}) == 1
    settlement = Settlement.objects.get()
    assert Transfer.objects.filter(kind=Transfer.Kind.SETTLEMENT).count() == 1
    after = Account.objects.get(person=employee).balance
    assert after == before - settlement.personal_account_amount
    assert Message.objects.filter(claims_msgid=True, infno=settling_transaction).count() == 1


@pytest.mark.django_db(transaction=True)
def test_ten_copies_of_a_2207_sent_at_once_settle_the_visit_once(
    live_server, signed_in, employee, catalog
):
    """The outpatient settlement itself (2201, 2204, then ten identical 2207 at once, paying from
    the personal account with the e-voucher)."""
    from accounts.models import Account, Transfer
    from settlement.models import AnnualUsage, Settlement

    from .test_outpatient import evoucher, register, settlement_input, upload

    presented = evoucher(employee)  # a card pays from the account only with its PIN
    mdtrt_id = register(signed_in, employee, presented)
    upload(signed_in, employee, mdtrt_id)
    before = Account.objects.get(person=employee).balance
    envelope = signed_in.envelope("2207", settlement_input(employee, mdtrt_id, presented))
    results = _post_all(
        live_server.url + SERVICE, signed_in.authorization, json.dumps(envelope).encode(), 10
    )
    answers = [answer for status, answer in results if status == 200]
    assert len(answers) == 10 and {answer["infcode"] for answer in answers} == {0}, [
        (answer["err_msg"], answer["extension"]) for answer in answers
    ]
    assert len({answer["output"]["setlinfo"]["setl_id"] for answer in answers}) == 1
    assert sorted(answer["extension"]["replayed"] for answer in answers) == [False] + [True] * 9
    settlement = Settlement.objects.get()
    assert Transfer.objects.filter(kind=Transfer.Kind.SETTLEMENT).count() == 1
    assert Account.objects.get(person=employee).balance == (
        before - settlement.personal_account_amount
    )
    usage = AnnualUsage.objects.get(person=employee)
    assert usage.pool_paid == settlement.pool_amount
