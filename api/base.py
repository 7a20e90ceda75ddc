"""Small shared pieces for API views."""

from functools import cached_property

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter

from access import Actor, actor_of
from cards.credentials import PRESENTED_CREDENTIAL_HEADER

PRESENTED_CREDENTIAL_PARAMETER = OpenApiParameter(
    name=PRESENTED_CREDENTIAL_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Institution terminals: the person's card or e-voucher, as `CARD <number>` or "
    "`EVOUCHER <code>`, where the code is the short-lived one the person's app shows (their "
    "newest from `POST /api/v1/me/evoucher/qr-codes`, valid a few minutes).",
)
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Makes the request safe to retry: a replay returns the first response; the same key "
    "with a different request is refused (422 IDEMPOTENCY_KEY_REUSED).",
)


class ActorMixin:
    """Gives a view the resolved caller (role, channel, scope) as ``self.actor``."""

    @cached_property
    def actor(self) -> Actor:
        return actor_of(self.request)


def operated_city(actor: Actor, code: str):
    """The city with this code, if the actor administers it (404 if it does not exist, 403 if it
    is someone else's)."""
    from access import require_city
    from cities.models import City
    from common.errors import CommonErrorCode, DomainError, field_error

    city = City.objects.filter(code=code).first()
    if city is None:
        raise DomainError(
            CommonErrorCode.NOT_FOUND,
            _("No city %(code)s.") % {"code": code},
            errors=[field_error("city", _("Unknown city."))],
        )
    require_city(actor, city.id)
    return city
