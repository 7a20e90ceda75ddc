"""The demo's embedded PostgreSQL: the server binaries inside the ``pgserver`` wheel, its data
directory under ``var/``, reached over a Unix socket. Nothing to install, and the same engine,
triggers, constraints and SQL as production.

Every process that opens the demo database takes a handle on the one server of that data
directory; the server starts with the first handle and stops when the last one is released (when
``make demo`` stops, for example). Its data stays, so the next start reuses the same world.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

DEMO_DATABASE_NAME = "yibao"

_servers: dict[Path, object] = {}


def _server(data_dir: Path):
    try:
        with warnings.catch_warnings():
            # Without XDG_RUNTIME_DIR (containers, CI) its lock file goes under /tmp, as wanted.
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:  # an app-only install without the demo extra
        raise ImproperlyConfigured(
            "The demo's embedded PostgreSQL comes with the demo extra: pip install -e '.[demo]' "
            "(make demo does it), or set DATABASE_URL to a PostgreSQL server."
        ) from exc
    data_dir = data_dir.resolve()
    if data_dir not in _servers:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        # pgserver logs every step at INFO; a person starting the demo needs none of it.
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        _servers[data_dir] = pgserver.get_server(data_dir, cleanup_mode="stop")
    return _servers[data_dir]


def _ensure_database(server, name: str) -> None:
    # The name is the module's constant, never input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')


def database_url(data_dir: Path, name: str = DEMO_DATABASE_NAME) -> str:
    """Starts (or joins) the embedded server and answers the URL of its demo database."""
    server = _server(data_dir)
    _ensure_database(server, name)
    return server.get_uri(name)
