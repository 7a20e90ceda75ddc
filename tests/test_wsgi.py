"""The WSGI entry point loads the whole project before the first request and freezes it."""

import subprocess
import sys

from django.conf import settings


def test_the_wsgi_module_loads_every_view_and_freezes_what_it_loaded():
    # In a fresh interpreter, as gunicorn's worker imports it: the URLconf (every view) is
    # loaded, and the objects loaded are frozen, so a full collection no longer walks them.
    probe = (
        "import gc, sys\n"
        "import config.wsgi\n"
        "print(gc.get_freeze_count())\n"
        "print(int('api.cards.apis' in sys.modules and 'api.settlement.apis' in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    frozen, views_loaded = (int(line) for line in result.stdout.split())
    assert views_loaded == 1
    # The loaded project is well over 50,000 objects; an unfrozen interpreter reports 0.
    assert frozen > 50_000
