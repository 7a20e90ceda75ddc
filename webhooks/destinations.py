"""Where a webhook may be delivered. A URL is http or https, with a host, no credentials and no
fragment. Unless ``WEBHOOK_ALLOW_PRIVATE_DESTINATIONS`` (on in the sandbox and tests, off in
production), its host must resolve only to public addresses: no loopback, private, link-local,
shared, multicast or reserved ones. The host is resolved when the URL is registered and again at
every delivery, and the delivery connects to the address that was checked, so a name that
changes its answer (DNS rebinding) cannot reach an inside address."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from common.errors import DomainError, field_error
from webhooks.error_codes import WebhookErrorCode

MAX_URL_LENGTH = 2000


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # as written (a name, or an address without brackets)
    port: int
    path: str  # path and query, as sent in the request line


def private_destinations_allowed() -> bool:
    return bool(settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS)


def _refuse(code: WebhookErrorCode, detail: str) -> DomainError:
    return DomainError(code, detail, errors=[field_error("url", detail)])


def destination_parse(url: str) -> Destination:
    """The parts of a webhook URL, or a refusal saying what is wrong with it (no lookup)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise _refuse(
            WebhookErrorCode.WEBHOOK_URL_INVALID,
            _("Give an http or https URL of at most %(max)s characters.") % {"max": MAX_URL_LENGTH},
        )
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise _refuse(WebhookErrorCode.WEBHOOK_URL_INVALID, _("The URL contains white space."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse(WebhookErrorCode.WEBHOOK_URL_INVALID, _("The URL cannot be read.")) from None
    if parts.scheme not in ("http", "https"):
        raise _refuse(
            WebhookErrorCode.WEBHOOK_URL_INVALID, _("Only http and https URLs are delivered to.")
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse(
            WebhookErrorCode.WEBHOOK_URL_INVALID,
            _("A webhook URL carries no credentials: verify our signature instead."),
        )
    if parts.fragment or "#" in url:
        raise _refuse(WebhookErrorCode.WEBHOOK_URL_INVALID, _("A webhook URL has no #fragment."))
    host = parts.hostname or ""
    if not host:
        raise _refuse(WebhookErrorCode.WEBHOOK_URL_INVALID, _("The URL names no host."))
    try:
        host.encode("idna")
    except UnicodeError:
        raise _refuse(
            WebhookErrorCode.WEBHOOK_URL_INVALID, _("The URL's host name is not valid.")
        ) from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = 443 if parts.scheme == "https" else 80
    return Destination(scheme=parts.scheme, host=host, port=port or default_port, path=path)


def _refusal_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Why an address is not delivered to ("" when it may be)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return _("a loopback address")
    if address.is_link_local:
        return _("a link-local address")
    if address.is_private:
        return _("a private address")
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return _("a reserved address")
    if not address.is_global:
        return _("an address that is not public")
    return ""


def addresses_resolve(destination: Destination) -> list[str]:
    """The addresses the destination's host stands for, each checked (a refusal otherwise).
    Every address must pass: a name that also answers an inside address is refused whole."""
    try:
        literal = ipaddress.ip_address(destination.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            answers = socket.getaddrinfo(
                destination.host, destination.port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            raise _refuse(
                WebhookErrorCode.WEBHOOK_URL_UNRESOLVABLE,
                _("The host %(host)s does not resolve.") % {"host": destination.host},
            ) from None
        addresses = list(dict.fromkeys(answer[4][0] for answer in answers))
    if not private_destinations_allowed():
        for address in addresses:
            reason = _refusal_of(ipaddress.ip_address(address.split("%")[0]))
            if reason:
                raise _refuse(
                    WebhookErrorCode.WEBHOOK_URL_NOT_ALLOWED,
                    _("%(host)s is %(reason)s; webhooks go to public addresses only.")
                    % {"host": destination.host, "reason": reason},
                )
    return addresses


def url_check(url: str) -> str:
    """A URL fit to register, as given. Outside production a name that does not resolve yet is
    accepted (its deliveries fail until it does); in production it is refused."""
    destination = destination_parse(url)
    try:
        addresses_resolve(destination)
    except DomainError as refusal:
        if refusal.code is not WebhookErrorCode.WEBHOOK_URL_UNRESOLVABLE:
            raise
        if not private_destinations_allowed():
            raise
    return url
