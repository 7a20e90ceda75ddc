from django.utils.translation import gettext_lazy as _

from common.errors import ErrorCodes, ErrorKind


class WebhookErrorCode(ErrorCodes):
    WEBHOOK_URL_INVALID = (
        ErrorKind.INVALID,
        _("The webhook URL is not an http or https address this server may deliver to."),
    )
    WEBHOOK_URL_NOT_ALLOWED = (
        ErrorKind.UNPROCESSABLE,
        _("The webhook URL points at a loopback, private, link-local or reserved address."),
    )
    WEBHOOK_URL_UNRESOLVABLE = (
        ErrorKind.UNPROCESSABLE,
        _("The webhook URL's host name does not resolve."),
    )
    WEBHOOK_EVENT_TYPE_UNKNOWN = (
        ErrorKind.INVALID,
        _("An event type asked for is not one this server sends."),
    )
    WEBHOOK_OWNER_NOT_ALLOWED = (
        ErrorKind.FORBIDDEN,
        _(
            "Only institution terminals, operators and sandbox developers register webhook "
            "endpoints."
        ),
    )
    WEBHOOK_ENDPOINT_EXISTS = (
        ErrorKind.CONFLICT,
        _("You have a webhook endpoint at this URL already."),
    )
    WEBHOOK_ENDPOINT_DISABLED = (
        ErrorKind.CONFLICT,
        _("The webhook endpoint is disabled; enable it first."),
    )
    WEBHOOK_EVENT_NOT_VISIBLE = (
        ErrorKind.NOT_FOUND,
        _("No such event, or not one you may see."),
    )
    WEBHOOK_NO_ENDPOINT = (
        ErrorKind.UNPROCESSABLE,
        _("You have no enabled webhook endpoint that takes this event."),
    )
    WEBHOOK_TRIGGER_OBJECT_NOT_FOUND = (
        ErrorKind.NOT_FOUND,
        _("No such object to trigger this event for, or not one you may see."),
    )
