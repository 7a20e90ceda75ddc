"""Content negotiation: DRF's, except that a ``?format=`` given empty is refused like any format
the view does not render (DRF ignores it and answers by the Accept header)."""

from django.http import Http404
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings


class StrictFormatNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        override = api_settings.URL_FORMAT_OVERRIDE
        if override and override in request.query_params and not request.query_params[override]:
            raise Http404
        return super().select_renderer(request, renderers, format_suffix)
