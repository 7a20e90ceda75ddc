"""Which URLs a webhook may be registered at and delivered to."""

import pytest

from common.errors import DomainError
from webhooks.destinations import addresses_resolve, destination_parse, url_check


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://user:pass@example.com/hook",
        "https://token@example.com/hook",
        "https://example.com/hook#part",
        "https:///nohost",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "",
        "https://example.com/" + "a" * 2000,
    ],
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(DomainError) as refusal:
        destination_parse(url)
    assert refusal.value.code.code == "WEBHOOK_URL_INVALID"
    assert refusal.value.errors[0]["field"] == "url"


def test_a_url_is_read_into_its_parts():
    destination = destination_parse("https://Hooks.Example.com:8443/a/b?x=1")
    assert (destination.scheme, destination.host, destination.port, destination.path) == (
        "https",
        "hooks.example.com",
        8443,
        "/a/b?x=1",
    )
    assert destination_parse("http://[::1]/").host == "::1"


INSIDE = [
    "http://127.0.0.1/hook",
    "http://localhost:8000/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://240.0.0.1/hook",
    "http://224.0.0.1/hook",
]


@pytest.mark.parametrize("url", INSIDE)
def test_in_production_inside_addresses_are_refused(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    with pytest.raises(DomainError) as refusal:
        url_check(url)
    assert refusal.value.code.code == "WEBHOOK_URL_NOT_ALLOWED"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/hook"])
def test_outside_production_loopback_is_allowed(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    assert url_check(url) == url


def test_in_production_a_public_address_is_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    destination = destination_parse("https://93.184.216.34/hook")
    assert addresses_resolve(destination) == ["93.184.216.34"]


def test_in_production_a_name_that_does_not_resolve_is_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    with pytest.raises(DomainError) as refusal:
        url_check("https://no-such-host.invalid/hook")
    assert refusal.value.code.code == "WEBHOOK_URL_UNRESOLVABLE"
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    assert url_check("https://no-such-host.invalid/hook")
