"""Simplified Chinese, with English kept: the catalogue is complete, and the API, the admin and the
balance answer speak the language asked for (Accept-Language, or ?lang= where a browser link cannot
set the header); English when nothing is asked, so clients written against the English texts keep
them.

The completeness test extracts the project's texts as `make messages` does (makemessages, with the
Makefile's own ignore list), merged into a scratch copy of the committed catalogue: a text that
is new has no translation, a changed one turns fuzzy, and either fails here, as does a translation
whose placeholders are not its English text's."""

import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.commands import makemessages
from django.core.signals import setting_changed
from django.utils import translation

from accounts.reasons import REASON_ORDER
from cards.agreement_texts import INITIAL_AGREEMENT_TEXT
from cards.models import EVoucherAgreement
from cities.tests.factories import CityFactory
from inquiry.tests.test_facts import login, settled
from sandbox.names import numbered_name, pinyin, random_name
from tests.bootstrap import skip_unless_ci
from tests.support import client_for
from users.tests.factories import OperatorFactory

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-Hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
# Named (%(name)s, {name}) and positional (%s, %d) placeholders: a translation keeps every one.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]|\{\w*\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese(text: str) -> bool:
    return bool(CJK.search(text or ""))


def _needs(*commands: str) -> None:
    for command in commands:
        if shutil.which(command) is None:
            skip_unless_ci(f"GNU gettext's {command} is not installed")


@pytest.fixture(scope="session")
def compiled_catalogue():
    """The .mo compiled from the committed .po when it is missing or older (as `make
    compile-messages` does), and Django's translations reloaded to read it."""
    _needs("msgfmt")
    compiled = CATALOGUE.with_suffix(".mo")
    if not compiled.exists() or compiled.stat().st_mtime < CATALOGUE.stat().st_mtime:
        subprocess.run(
            ["msgfmt", "--check-format", "-o", str(compiled), str(CATALOGUE)], check=True
        )
        setting_changed.send(
            sender=None, setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=True
        )
    return compiled


@pytest.fixture(autouse=True)
def _english_afterwards():
    """A request activates its language in this thread; later tests read English texts."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _makefile_ignore_patterns() -> list[str]:
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    line = re.search(r"^MESSAGES_IGNORE := (.*)$", makefile, re.MULTILINE).group(1)
    return re.findall(r"--ignore=(\S+)", line)


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.timeout(600)
def test_every_text_has_a_chinese_translation_with_the_same_placeholders(monkeypatch):
    """makemessages over the project as `make messages` runs it, merged into a scratch copy of
    the catalogue: nothing untranslated, nothing fuzzy, no placeholder lost or invented."""
    _needs("xgettext", "msgmerge", "msguniq")
    base = Path(settings.BASE_DIR)
    # makemessages files every text under the project's own locale directory whatever
    # LOCALE_PATHS says (its walk puts a directory named locale first); only the merge into the
    # catalogue is sent to the scratch copy, so the committed catalogue is never written.
    scratch = Path(tempfile.mkdtemp(prefix="i18n-check-"))
    target = scratch / "zh_Hans" / "LC_MESSAGES" / "django.po"
    target.parent.mkdir(parents=True)
    shutil.copy(CATALOGUE, target)
    merge_into_catalogue = makemessages.Command.write_po_file

    def merge_into_scratch(command, potfile, locale):
        scratch_potfile = scratch / Path(potfile).name
        shutil.copy(potfile, scratch_potfile)
        merge_into_catalogue(command, str(scratch_potfile), locale)

    monkeypatch.setattr(makemessages.Command, "write_po_file", merge_into_scratch)
    monkeypatch.chdir(base)
    try:
        call_command(
            "makemessages",
            locale=["zh_Hans"],
            no_obsolete=True,
            add_location="file",
            ignore_patterns=_makefile_ignore_patterns(),
            verbosity=0,
        )
        extracted = polib.pofile(str(target))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    problems = []
    for entry in extracted:
        if entry.obsolete:
            continue
        where = ", ".join(sorted({path for path, _line in entry.occurrences})) or "?"
        shown = f"{entry.msgid[:90]!r} ({where})"
        if entry.fuzzy:
            problems.append(f"fuzzy (changed since translated): {shown}")
            continue
        pairs = (
            [(entry.msgid_plural, text) for text in entry.msgstr_plural.values()]
            if entry.msgid_plural
            else [(entry.msgid, entry.msgstr)]
        )
        for english, translated in pairs:
            if not translated.strip():
                problems.append(f"untranslated: {shown}")
            elif _placeholders(english) != _placeholders(translated):
                problems.append(
                    f"placeholders {_placeholders(translated)} instead of "
                    f"{_placeholders(english)}: {shown}"
                )
    assert len(extracted) > 300, "the extraction found almost no texts"
    assert not problems, (
        f"{len(problems)} texts need work in {CATALOGUE.relative_to(base)} (make messages, "
        "translate, make compile-messages):\n" + "\n".join(problems)
    )


def test_the_committed_catalogue_compiles_cleanly():
    _needs("msgfmt")
    result = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(CATALOGUE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_the_reason_catalogue_has_the_same_codes_in_both_languages(api_client, compiled_catalogue):
    english = api_client.get("/api/v1/balance-reasons", **EN).json()
    chinese_answer = api_client.get("/api/v1/balance-reasons", **ZH).json()
    codes = [code.value for code in REASON_ORDER]
    assert [reason["code"] for reason in english] == codes
    assert [reason["code"] for reason in chinese_answer] == codes
    assert [r["order"] for r in english] == [r["order"] for r in chinese_answer]
    for en_reason, zh_reason in zip(english, chinese_answer, strict=True):
        assert not chinese(en_reason["title"]) and not chinese(en_reason["background"])
        assert chinese(zh_reason["title"]) and chinese(zh_reason["background"])
    by_code = {reason["code"]: reason["title"] for reason in chinese_answer}
    assert by_code["EVOUCHER_NOT_ACTIVATED"] == "您的医保电子凭证尚未激活"


@pytest.mark.django_db
def test_a_balance_with_reasons_answers_in_the_language_asked_for(
    api_client, agreement, compiled_catalogue
):
    city = CityFactory(not_launched=True)
    person = settled(city, evoucher=False)
    login(api_client, person)

    english = api_client.get("/api/v1/me/balance", **EN)
    header = api_client.get("/api/v1/me/balance", **ZH)
    query = api_client.get("/api/v1/me/balance?lang=zh-hans")
    assert english.status_code == header.status_code == query.status_code == 200

    codes = [reason["code"] for reason in english.json()["reasons"]]
    assert codes[:2] == ["CITY_INQUIRY_NOT_LAUNCHED", "EVOUCHER_NOT_ACTIVATED"]
    first = english.json()["reasons"][0]
    assert first["title"] == "Your city has not launched online inquiry"
    assert f"{city.name} has not launched online e-insurance inquiry" in first["detail"]
    assert english["Content-Language"] == "en"

    for answer in (header, query):
        reasons = answer.json()["reasons"]
        assert [reason["code"] for reason in reasons] == codes
        assert answer["Content-Language"] == "zh-hans"
        assert reasons[0]["title"] == "您所在城市尚未开通线上查询"
        # The city's own name and the national hotline fill the Chinese sentence.
        assert (
            reasons[0]["detail"]
            == f"{city.name}尚未开通医保线上查询，因此医保电子凭证平台无法显示您的余额。"
        )
        assert "拨打全国医疗保障服务热线 12393" in reasons[0]["remedy"]
        assert reasons[1]["title"] == "您的医保电子凭证尚未激活"
        for reason in reasons:
            assert chinese(reason["title"]) and chinese(reason["detail"])
            assert chinese(reason["remedy"])


@pytest.mark.django_db
def test_a_date_and_an_amount_keep_their_values_in_chinese(
    api_client, agreement, compiled_catalogue
):
    """The card's expected date reaches the Chinese detail as it reaches the English one."""
    city = CityFactory()
    person = settled(city, card=False)
    login(api_client, person)
    english = api_client.get("/api/v1/me/balance", **EN).json()["reasons"]
    chinese_reasons = api_client.get("/api/v1/me/balance", **ZH).json()["reasons"]
    assert [r["code"] for r in english] == [r["code"] for r in chinese_reasons]
    for en_reason, zh_reason in zip(english, chinese_reasons, strict=True):
        assert en_reason["expected_date"] == zh_reason["expected_date"]
        for number in re.findall(r"\d[\d.,-]*\d", en_reason["detail"]):
            assert number in zh_reason["detail"], (number, zh_reason["detail"])


@pytest.mark.django_db
def test_a_problem_answers_in_chinese_when_asked(api_client, compiled_catalogue):
    english = api_client.get("/api/v1/me/balance", **EN)
    header = api_client.get("/api/v1/me/balance", **ZH)
    query = api_client.get("/api/v1/me/balance?lang=zh-Hans")
    assert english.status_code == header.status_code == query.status_code == 401
    assert english.json()["title"] == "Authentication credentials were not provided."
    for answer in (header, query):
        body = answer.json()
        assert body["code"] == english.json()["code"] == "NOT_AUTHENTICATED"
        assert body["title"] == "未提供身份认证凭据。"
        assert body["type"] == english.json()["type"]

    # A domain refusal's detail, with the value it names.
    operator = client_for(OperatorFactory(cities=[CityFactory()]))
    missing = operator.get("/api/v1/cities/ZZ9999", **ZH)
    assert missing.status_code == 404
    assert chinese(missing.json()["title"])


@pytest.mark.django_db
def test_a_field_error_answers_in_chinese_when_asked(compiled_catalogue):
    city = CityFactory()
    operator = client_for(OperatorFactory(cities=[city]))
    for extra, expect_chinese in ((EN, False), (ZH, True), ({}, False)):
        path = f"/api/v1/cities/{city.code}" + ("?lang=zh-hans" if extra is ZH else "")
        refused = operator.patch(path, {"agency_phone": "call us"}, format="json", **extra)
        assert refused.status_code == 400, refused.content
        body = refused.json()
        assert body["code"] == "VALIDATION_ERROR"
        assert body["errors"][0]["field"] == "agency_phone"
        assert chinese(body["title"]) is expect_chinese
        assert chinese(body["errors"][0]["message"]) is expect_chinese


@pytest.mark.django_db
def test_without_accept_language_the_answer_stays_english(api_client, compiled_catalogue):
    answer = api_client.get("/api/v1/problems/NOT_FOUND")
    assert answer.json()["title"] == "Nothing was found at this address."
    assert api_client.get("/api/v1/problems/NOT_FOUND?lang=xx").json()["title"] == (
        "Nothing was found at this address."
    )


@pytest.mark.django_db
def test_the_admin_index_is_in_chinese(admin_client, compiled_catalogue):
    english = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    page = admin_client.get("/admin/", **ZH)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'lang="zh-hans"' in text
    assert "医保" in text  # the site header
    assert "参保人员" in text or "参保人" in text
    # Django's own texts, from its catalogue: the user tools.
    assert "注销" in text and "修改密码" in text
    assert "Log out" not in text and "Insured persons" not in text

    # A link with ?lang= keeps the admin in Chinese on the pages it leads to.
    admin_client.get("/admin/?lang=zh-hans", HTTP_ACCEPT_LANGUAGE="en")
    follow = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert 'lang="zh-hans"' in follow.content.decode()
    admin_client.get("/admin/?lang=en")
    assert 'lang="en"' in admin_client.get("/admin/", **ZH).content.decode()


@pytest.mark.django_db
def test_the_e_voucher_agreement_reads_in_the_language_asked_for(api_client, compiled_catalogue):
    # The agreement exactly as the migration stores it (a flushed database has lost it).
    EVoucherAgreement.objects.update_or_create(
        version="2025.1",
        defaults={
            "title": "E-voucher user agreement",
            "text": INITIAL_AGREEMENT_TEXT,
            "effective_from": "2020-01-01",
        },
    )
    caller = client_for(OperatorFactory(cities=[CityFactory()]))
    path = "/api/v1/evoucher-agreements/current"
    english = caller.get(path, **EN).json()
    chinese_answer = caller.get(path, **ZH).json()
    assert english["version"] == chinese_answer["version"] == "2025.1"
    assert english["text"] == INITIAL_AGREEMENT_TEXT
    assert chinese_answer["title"] == "医保电子凭证用户协议"
    assert chinese_answer["text"].startswith("医保电子凭证用户协议\n")
    assert "人脸识别认证" in chinese_answer["text"]


def test_demo_names_are_chinese_with_their_pinyin():
    name = random_name(random.Random(7))
    assert chinese(name.hanzi) and not chinese(name.pinyin)
    assert pinyin(name.hanzi) == name.pinyin
    assert numbered_name(0).hanzi == numbered_name(0).hanzi
    assert pinyin("徐敏") == "Xu Min"
    assert pinyin("Xu Min") is None


@pytest.mark.django_db
def test_the_demo_home_page_speaks_chinese_when_asked(client, compiled_catalogue):
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Yibao medical-insurance backend" in english
    page = client.get("/?lang=zh-hans", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in text
    assert "医宝医保后台" in text and "Yibao medical-insurance backend" not in text
    # The choice is remembered for the pages the browser opens next.
    assert "医宝医保后台" in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_generic_problem_details_answer_in_the_language_asked_for(api_client, compiled_catalogue):
    """A body that is not JSON and a filter off its choices: the detail in the caller's language
    (Python's and DRF's English messages never reach a Chinese answer), the code unchanged."""
    operator = OperatorFactory()
    client = client_for(operator)
    for headers, expect_chinese in ((ZH, True), (EN, False)):
        not_json = api_client.post(
            "/api/v1/auth/login",
            data='{"username": 1,\n bad}',
            content_type="application/json",
            **headers,
        ).json()
        assert not_json["code"] == "MALFORMED_REQUEST"
        assert chinese(not_json["detail"]) is expect_chinese
        assert "2" in not_json["detail"]  # the line the error is on
        assert "Expecting" not in not_json["detail"]

        off_choices = client.get("/api/v1/events?type=bogus", **headers).json()
        assert off_choices["code"] == "VALIDATION_ERROR"
        assert chinese(off_choices["detail"]) is expect_chinese


def test_row_titles_read_in_the_readers_language(compiled_catalogue):
    from decimal import Decimal

    from accounts.models import Entry
    from cards.models import EVoucher, SocialSecurityCard

    card = SocialSecurityCard(number="D01030781", status=SocialSecurityCard.Status.ACTIVE)
    evoucher = EVoucher(person_id=13, status=EVoucher.Status.NOT_ACTIVATED)
    entry = Entry(amount=Decimal("-126.00"), account_id=4)
    with translation.override("en"):
        assert str(card) == "Card D01030781 (Active)"
        assert str(evoucher).startswith("E-voucher of person 13 (")
        assert str(entry) == "-126.00 on account 4"
    with translation.override("zh-hans"):
        for row in (card, evoucher, entry):
            assert chinese(str(row)) and not re.search(r"[A-Za-z]{3,}", str(row)), str(row)
