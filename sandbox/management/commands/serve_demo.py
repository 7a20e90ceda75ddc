import signal
import sys
import time

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections


class Command(BaseCommand):
    help = (
        "Serve the seeded demo world: migrate, seed (once; a second start reuses the world) and "
        "serve on 127.0.0.1. The database is the embedded PostgreSQL under var/, or DATABASE_URL. "
        "--reset throws the demo world away and seeds a new one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="Port to serve on.")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Drop the demo database and seed a fresh world before serving.",
        )
        parser.add_argument("--no-serve", action="store_true", help="Prepare the world, then exit.")

    def handle(self, *args, port: int, reset: bool, no_serve: bool, **options):
        if not settings.SANDBOX_MODE:
            raise CommandError("The demo needs sandbox mode (DJANGO_ENV=demo, SANDBOX_MODE on).")
        # `docker stop` and process managers send SIGTERM: stop as cleanly as on Ctrl-C, so the
        # embedded PostgreSQL is shut down by its handle's exit hook.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        started = time.monotonic()
        if reset:
            self._step("Throwing the demo world away")
            self._recreate_database()
        self._step("Migrating the demo database")
        call_command("migrate", interactive=False, verbosity=0 if not reset else 1)
        self._step("Seeding the demo world (reused when it is already there)")
        call_command("seed_demo", port=port)
        self.stdout.write(f"Ready in {time.monotonic() - started:.1f} s.")
        if no_serve:
            return
        self._step(
            f"Serving on http://127.0.0.1:{port}/  (Ctrl-C stops the server and the database)"
        )
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)

    def _step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {text}"))

    def _recreate_database(self) -> None:
        """Drops and recreates the configured database through the server's maintenance database,
        disconnecting whoever is connected (a demo server still running, for example)."""
        database = settings.DATABASES["default"]
        connections.close_all()
        params = {
            "dbname": "postgres",
            "user": database["USER"] or None,
            "password": database["PASSWORD"] or None,
            "host": database["OPTIONS"].get("host") or database["HOST"] or None,
            "port": database["PORT"] or None,
        }
        name = database["NAME"]
        with psycopg.connect(autocommit=True, **{k: v for k, v in params.items() if v}) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
