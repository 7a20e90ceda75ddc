"""The envelope: what it refuses and how (infcode -1, a Chinese err_msg, the stable code in the
extension), what it logs, and that junk never answers a 500."""

import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fsi.messages import ERR_MSG_BY_CODE
from fsi.models import Message
from users.tests.factories import OperatorFactory, TerminalFactory, token_for

from .conftest import SERVICE, Terminal

pytestmark = pytest.mark.django_db


def _refused(answer: dict, code: str) -> None:
    assert answer["infcode"] == -1, answer
    assert answer["extension"]["code"] == code, answer
    assert answer["err_msg"] == ERR_MSG_BY_CODE[code]
    assert answer["output"] == {}


def test_a_good_envelope_answers_every_response_field(signed_in):
    answer = signed_in.send("5206", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": "x"}})
    assert set(answer) == {
        "infcode",
        "inf_refmsgid",
        "refmsg_time",
        "respond_time",
        "err_msg",
        "output",
        "extension",
    }
    # The credential is unknown: refused by the access rules, the envelope itself was fine.
    _refused(answer, "CREDENTIAL_INVALID")
    assert answer["inf_refmsgid"].startswith(signed_in.institution.city.code + "20261102090000")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"infno": None}, "infno"),
        ({"infno": 1101}, "infno"),
        ({"infno": "11O1"}, "infno"),
        ({"msgid": ""}, "msgid"),
        ({"msgid": ["x"]}, "msgid"),
        ({"fixmedins_code": None}, "fixmedins_code"),
        ({"sign_no": ""}, "sign_no"),
        ({"input": "data"}, "input"),
        ({"input": None}, "input"),
        ({"opter_name": {"name": "Li"}}, "opter_name"),
        ({"inf_time": "yesterday"}, "inf_time"),
        ({"mdtrtarea_admvs": "3301001"}, "mdtrtarea_admvs"),
    ],
)
def test_a_missing_or_mistyped_field_is_named(signed_in, change, field):
    response = signed_in.post(signed_in.envelope("1101", {}) | change)
    assert response.status_code == 200
    answer = response.json()
    _refused(answer, "ENVELOPE_INVALID")
    assert field in {error["field"] for error in answer["extension"]["errors"]}


def test_another_institutions_code_is_refused(signed_in):
    answer = signed_in.send("1101", {}, fixmedins_code="H999999")
    _refused(answer, "FIXMEDINS_MISMATCH")


@pytest.mark.parametrize(
    "msgid",
    [
        "H999999202611020900000001",  # another institution's code
        "{code}20261302090000001",  # month 13
        "{code}2026110209000",  # no sequence, time cut short
        "{code}20261102090000",  # no sequence
        "{code}20261102090000ABCD",  # sequence not digits
    ],
)
def test_a_msgid_off_the_pattern_is_refused(signed_in, msgid):
    answer = signed_in.send("1101", {}, msgid=msgid.format(code=signed_in.institution.code))
    _refused(answer, "MSGID_INVALID")


def test_an_unknown_infno_is_refused(signed_in):
    _refused(signed_in.send("0000", {}), "INFNO_UNKNOWN")


def test_every_transaction_but_sign_in_needs_an_open_sign_in(terminal, hospital):
    _refused(terminal.send("1101", {}, sign_no="20261102090000123"), "SIGN_IN_REQUIRED")
    other = Terminal(TerminalFactory())
    other_sign_no = other.sign_in()
    # Another institution's open sign-in is no sign-in here.
    _refused(terminal.send("1101", {}, sign_no=other_sign_no), "SIGN_IN_REQUIRED")


def test_refusals_are_logged_and_claim_no_msgid(signed_in):
    answer = signed_in.send("0000", {})
    logged = Message.objects.get(inf_refmsgid=answer["inf_refmsgid"])
    assert logged.outcome == Message.Outcome.REFUSED and not logged.claims_msgid
    assert logged.error_code == "INFNO_UNKNOWN" and logged.infcode == -1
    assert logged.institution == signed_in.institution
    assert logged.request["infno"] == "0000" and logged.response == answer
    assert logged.request_id == answer["extension"]["request_id"]


def test_an_unauthenticated_or_wrong_caller_gets_an_envelope_and_no_log(terminal, city):
    body = json.dumps(terminal.envelope("9001", {}))
    anonymous = Client().post(SERVICE, body, content_type="application/json")
    assert anonymous.status_code == 401
    _refused(anonymous.json(), "NOT_AUTHENTICATED")
    forged = Client().post(
        SERVICE, body, content_type="application/json", HTTP_AUTHORIZATION="Token " + "0" * 64
    )
    assert forged.status_code == 401
    _refused(forged.json(), "AUTHENTICATION_FAILED")
    operator = Client().post(
        SERVICE,
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=token_for(OperatorFactory(cities=[city])),
    )
    assert operator.status_code == 403
    _refused(operator.json(), "TERMINAL_ONLY")
    assert not Message.objects.exists()


def test_get_is_a_405_envelope(terminal):
    response = terminal.client.get(SERVICE, HTTP_AUTHORIZATION=terminal.authorization)
    assert response.status_code == 405 and response["Allow"] == "POST"
    _refused(response.json(), "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"{not json", 400, "MALFORMED_REQUEST"),
        (b"\xff\xfe", 400, "MALFORMED_REQUEST"),
        (b"[" * 5000 + b"]" * 5000, 400, "REQUEST_NESTED_TOO_DEEPLY"),
        (b'{"infno": NaN}', 400, "MALFORMED_REQUEST"),
        (b'{"infno": 1e999}', 200, "ENVELOPE_INVALID"),
        (b'{"infno": 99999999999999999999999}', 200, "ENVELOPE_INVALID"),
        (b'{"infno": "11\\u000001"}', 200, "ENVELOPE_INVALID"),
        (b'["an", "array"]', 200, "ENVELOPE_INVALID"),
        (b'"a string"', 200, "ENVELOPE_INVALID"),
        (b"", 400, "MALFORMED_REQUEST"),
    ],
)
def test_unreadable_bodies_are_refused_and_logged(terminal, body, status, code):
    response = terminal.post(body, raw=True)
    assert response.status_code == status
    _refused(response.json(), code)
    logged = Message.objects.get()
    assert logged.outcome == Message.Outcome.REFUSED and logged.error_code == code


def test_a_body_over_the_upload_limit_is_a_413(terminal, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    envelope = terminal.envelope("1101", {"data": {"memo": "x" * 5000}})
    response = terminal.post(envelope)
    assert response.status_code == 413
    _refused(response.json(), "REQUEST_TOO_LARGE")


def test_a_pin_never_reaches_the_log(signed_in):
    answer = signed_in.send(
        "1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": "x", "card_pin": "258036"}}
    )
    logged = Message.objects.get(inf_refmsgid=answer["inf_refmsgid"])
    assert logged.request["input"]["data"]["card_pin"] == "******"
    assert "258036" not in json.dumps(logged.request)


# --- Fuzzing: whatever the body, an envelope and never a 500 ---------------------------------

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
_json = st.recursive(
    _json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_FIELDS = [
    "infno",
    "msgid",
    "fixmedins_code",
    "sign_no",
    "input",
    "inf_time",
    "opter_name",
    "insuplc_admdvs",
]
_INFNOS = st.sampled_from(["9001", "9002", "1101", "5206", "3201", "2601", "0000", 1101, None])


@st.composite
def _envelopes(draw, terminal: Terminal):
    """Mostly well-formed envelopes with some fields replaced by junk, so the fuzz reaches the
    transactions and not only the envelope's checks."""
    envelope = terminal.envelope(draw(_INFNOS))
    envelope["input"] = draw(
        st.one_of(
            _json,
            st.fixed_dictionaries({"data": st.dictionaries(st.text(max_size=16), _json)}),
            st.fixed_dictionaries(
                {
                    "data": st.fixed_dictionaries(
                        {
                            "mdtrt_cert_type": st.sampled_from(["01", "02", "03", 3, "", None]),
                            "mdtrt_cert_no": _json,
                            "omsgid": _json,
                            "oinfno": _json,
                            "stmt_begndate": _json,
                            "stmt_enddate": _json,
                            "medfee_sumamt": _json,
                            "fixmedins_setl_cnt": _json,
                            "cum_ym": _json,
                        }
                    )
                }
            ),
            st.fixed_dictionaries({"signIn": _json, "signOut": _json}),
        )
    )
    for name in draw(st.lists(st.sampled_from(_FIELDS), max_size=3, unique=True)):
        envelope[name] = draw(_json)
    return envelope


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_envelopes_never_answer_a_500(signed_in, data):
    envelope = data.draw(_envelopes(signed_in))
    response = signed_in.post(envelope)
    assert response.status_code in (200, 400), response.content
    answer = response.json()
    assert answer["infcode"] in (0, -1)
    if answer["infcode"] == -1:
        assert answer["err_msg"] and answer["extension"]["code"] != "INTERNAL_ERROR", answer


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=300))
def test_fuzzed_bytes_never_answer_a_500(signed_in, body):
    response = signed_in.post(body, raw=True)
    assert response.status_code in (200, 400)
    assert response.json()["infcode"] == -1


def test_every_code_a_transaction_can_meet_has_its_own_sentence():
    from api.views import all_error_codes

    reachable = (
        "common.errors",
        "users.error_codes",
        "cards.error_codes",
        "persons.error_codes",
        "accounts.error_codes",
        "settlement.error_codes",
        "fsi.error_codes",
    )
    codes = [code for code in all_error_codes().values() if type(code).__module__ in reachable]
    assert len(codes) > 80
    missing = sorted(code.code for code in codes if code.code not in ERR_MSG_BY_CODE)
    assert not missing, f"give these a Chinese err_msg in fsi/messages.py: {missing}"
