import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cities.models import City
from common import clock
from sandbox.demo import (
    demo_city_table,
    demo_credentials_public,
    demo_world_build,
    demo_world_table,
)
from sandbox.population import population_count, population_generate


class Command(BaseCommand):
    help = (
        "Build the deterministic demo world and print who is who with their credentials "
        "(running it again changes nothing). --persons N also grows a generated population. "
        "Refused with production settings (DJANGO_ENV=production or SANDBOX_MODE off) unless "
        "--allow-production."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=8000,
            help="Port the demo is served on (for the URLs printed).",
        )
        parser.add_argument(
            "--persons",
            type=int,
            default=0,
            help="Grow the generated population to this many persons.",
        )
        parser.add_argument(
            "--city",
            default="330100",
            help="City code of the generated population (default Hangzhou).",
        )
        parser.add_argument("--batch-size", type=int, default=10_000)
        parser.add_argument(
            "--quiet-table", action="store_true", help="Do not print the credentials table."
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Build the world with production settings too (a staging world): its logins "
            "then get random passwords, printed once (even with --quiet-table), and no API "
            "tokens (log in for an expiring one), instead of the demo's published ones.",
        )

    def handle(
        self,
        *args,
        port: int,
        persons: int,
        city: str,
        batch_size: int,
        quiet_table: bool,
        allow_production: bool,
        **options,
    ):
        public = demo_credentials_public()
        if not public and not allow_production:
            raise CommandError(
                "Refusing to seed the demo world with production settings (DJANGO_ENV=production "
                "or SANDBOX_MODE off): its logins have published passwords and tokens. For a "
                "staging world, add --allow-production: every new login then gets a random "
                "password, printed once, and no API token."
            )
        self.stdout.write(
            "Building the demo world (cities, institutions, operators, one person per scenario)..."
        )
        passwords = demo_world_build(public_credentials=public)
        if persons:
            target = City.objects.filter(code=city).first()
            if target is None:
                raise CommandError(
                    f"No city {city}; the demo cities are created first, pick one of their codes."
                )
            already = population_count(target)
            with tqdm(
                total=persons,
                initial=min(already, persons),
                unit="person",
                file=sys.stderr,
                desc=f"Population of {target.name}",
            ) as bar:
                added = population_generate(
                    city=target,
                    persons=persons,
                    enrolled_on=clock.today(),
                    batch_size=batch_size,
                    progress=bar.update,
                )
            self.stdout.write(
                f"Generated {added} persons ({population_count(target)} in {target.name}'s population)."
            )
        if not public:
            self.stdout.write(
                "Production settings: the logins below have random passwords, shown this once; "
                "none has an API token."
            )
        if not quiet_table or passwords:
            self._print_table(port, passwords=None if public else passwords)

    def _print_table(self, port: int, *, passwords: dict[str, str] | None) -> None:
        base = f"http://127.0.0.1:{port}"
        self.stdout.write("")
        self.stdout.write(f"  Demo home (this table):  {base}/")
        self.stdout.write(f"  API root:                {base}/api/v1/")
        self.stdout.write(f"  API docs (try it out):   {base}/api/v1/docs")
        self.stdout.write(f"  Operators' admin:        {base}/admin/")
        self.stdout.write(
            f"  Simulated clock:         {clock.as_text(clock.now())} {settings.TIME_ZONE} "
            "(POST /api/v1/sandbox/clock/advance)"
        )
        self.stdout.write("")
        self.stdout.write("  Cities (sandbox profiles, not the real cities' states):")
        for city in demo_city_table():
            self.stdout.write(f"  {city.code}  {city.name:<10}  {city.profile}")
        self.stdout.write("")
        rows = demo_world_table(passwords=passwords)
        width_who = max(len(row.who) for row in rows)
        width_user = max(len(row.username) for row in rows)
        width_password = max(len(row.password) for row in rows)
        for row in rows:
            self.stdout.write(
                f"  {row.who:<{width_who}}  {row.username:<{width_user}}  {row.password:<{width_password}}  {row.notes}"
            )
            self.stdout.write(f"  {'':<{width_who}}  Authorization: {row.authorization}")
            if row.online_now:
                self.stdout.write(
                    f"  {'':<{width_who}}  Online balance query now: {row.online_now}"
                )
