import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cities.models import City
from common import clock
from sandbox.demo import demo_world_build, demo_world_table
from sandbox.population import population_count, population_generate


class Command(BaseCommand):
    help = (
        "Build the deterministic demo world and print who is who with their credentials "
        "(running it again changes nothing). --persons N also grows a generated population."
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

    def handle(
        self,
        *args,
        port: int,
        persons: int,
        city: str,
        batch_size: int,
        quiet_table: bool,
        **options,
    ):
        self.stdout.write(
            "Building the demo world (cities, institutions, operators, one person per scenario)..."
        )
        demo_world_build()
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
        if not quiet_table:
            self._print_table(port)

    def _print_table(self, port: int) -> None:
        base = f"http://127.0.0.1:{port}"
        self.stdout.write("")
        self.stdout.write(f"  Demo home (this table):  {base}/")
        self.stdout.write(f"  API root:                {base}/api/v1/")
        self.stdout.write(f"  API docs (try it out):   {base}/api/v1/docs")
        self.stdout.write(f"  Operators' admin:        {base}/admin/")
        self.stdout.write(
            f"  Simulated clock:         {clock.as_text(clock.now())} (POST /api/v1/sandbox/clock/advance)"
        )
        self.stdout.write("")
        rows = demo_world_table()
        width_who = max(len(row.who) for row in rows)
        width_user = max(len(row.username) for row in rows)
        width_password = max(len(row.password) for row in rows)
        for row in rows:
            self.stdout.write(
                f"  {row.who:<{width_who}}  {row.username:<{width_user}}  {row.password:<{width_password}}  {row.notes}"
            )
            self.stdout.write(f"  {'':<{width_who}}  Authorization: {row.authorization}")
