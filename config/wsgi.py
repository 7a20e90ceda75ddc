import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Import every view now rather than on the first request, then take everything loaded so far
# out of the garbage collector's reach: a full collection would otherwise walk the ~125,000
# long-lived objects of the loaded project (about 60 ms) in the middle of whichever request
# triggered it, which is what set the balance query's p99 and max under load.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
