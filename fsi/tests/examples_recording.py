"""Records the documentation's example messages: each of the interface's own transactions sent
once from the demo world (the terminal hz-hospital, the person of BALANCE_VISIBLE presenting
their card). ``test_docs.py`` records them again and holds them to ``fsi/examples.py``; run
``python -m fsi.tests.examples_recording`` inside a test database to print them anew."""

from cards.models import SocialSecurityCard
from sandbox.demo import person_username
from users.models import User

from .conftest import Terminal


def demo_examples() -> dict[str, dict]:
    """Call after ``demo_world_build()``: infno to its {"request", "response"}."""
    terminal = Terminal(User.objects.get(username="hz-hospital"))
    person = User.objects.get(username=person_username("BALANCE_VISIBLE")).person
    card = SocialSecurityCard.objects.get(person=person, status=SocialSecurityCard.Status.ACTIVE)
    presented = {"mdtrt_cert_type": "03", "mdtrt_cert_no": card.number}
    examples: dict[str, dict] = {}

    def record(infno: str, input: dict) -> dict:
        request = terminal.envelope(infno, input)
        response = terminal.post(request).json()
        examples[infno] = {"request": request, "response": response}
        return request

    record("9001", {"signIn": {"opter_no": "0001", "mac": "00-1A-2B-3C-4D-5E", "ip": "10.0.0.8"}})
    terminal.sign_no = examples["9001"]["response"]["output"]["signinoutb"]["sign_no"]
    inquiry = record(
        "1101", {"data": {**presented, "card_sn": "", "psn_cert_type": "01", "certno": ""}}
    )
    record("5206", {"data": {**presented, "cum_ym": "202611"}})
    record(
        "3201",
        {
            "data": {
                "insutype": "310",
                "clr_type": "11",
                "setl_optins": "330100",
                "stmt_begndate": "2026-11-01",
                "stmt_enddate": "2026-11-30",
                "medfee_sumamt": 0,
                "fund_pay_sumamt": 0,
                "acct_pay": 0,
                "fixmedins_setl_cnt": 0,
            }
        },
    )
    record("2601", {"data": {"psn_no": "", "omsgid": inquiry["msgid"], "oinfno": "1101"}})
    record("9002", {"signOut": {"sign_no": terminal.sign_no, "opter_no": "0001"}})
    return examples
