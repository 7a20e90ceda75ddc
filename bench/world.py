"""The data the benchmarks stand on, made by the project's own code (not timed)."""

from bench import harness


def city_with_population(
    size: int, *, collect: bool = False, credit: bool = False, upload: bool = False
):
    """Hangzhou (the sandbox's standard city) with ``size`` generated persons and their accounts
    and e-vouchers (sandbox.population), this month's contributions collected, the month credited
    and the city uploaded, as asked. Returns (city, period)."""
    from accounts.crediting import (
        contribution_collection_execute,
        contribution_collection_open,
        crediting_run_execute,
        crediting_run_open,
    )
    from common import clock
    from sandbox.population import population_generate
    from sandbox.world import sandbox_city
    from uploads.models import CityUpload
    from uploads.services import upload_execute, upload_open

    city = sandbox_city("standard")
    period = clock.today().replace(day=1)
    with harness.step(f"generate {size:,} persons with their accounts"):
        population_generate(city=city, persons=size, enrolled_on=period)
    if collect or credit:
        with harness.step("collect this month's contributions"):
            job, _ = contribution_collection_open(city=city, period=period)
            contribution_collection_execute(collection_id=job.id)
    if credit:
        with harness.step("credit this month"):
            run, _ = crediting_run_open(city=city, period=period)
            crediting_run_execute(run_id=run.id)
    if upload:
        with harness.step("upload the city"):
            job, _ = upload_open(city=city, trigger=CityUpload.Trigger.OPERATOR)
            upload_execute(upload_id=job.id)
    city.refresh_from_db()
    return city, period
