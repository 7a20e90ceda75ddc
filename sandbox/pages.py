from django.conf import settings
from django.shortcuts import render
from django.urls import path

from common import clock
from sandbox.postman import postman_collection_view

# The demo person whose token the page's curl example uses.
EXAMPLE_USERNAME = "balance-visible"


def home(request):
    """The front page: links, and in sandbox mode the demo world's who-is-who with credentials
    and what each person's online balance query answers now."""
    rows = []
    scenarios = []
    cities = []
    demo_pin = None
    if settings.SANDBOX_MODE:
        from sandbox.demo import demo_city_table, demo_credentials_public, demo_world_table
        from sandbox.scenarios import DEMO_PIN, SCENARIOS

        cities = demo_city_table()

        # Published credentials only where they are the world's (sandbox mode outside production).
        public = demo_credentials_public()
        rows = demo_world_table(passwords=None if public else {})
        scenarios = list(SCENARIOS.values())
        demo_pin = DEMO_PIN if public else None
    example = next(
        (
            row.authorization
            for row in rows
            if row.username == EXAMPLE_USERNAME and row.authorization.startswith("Token ")
        ),
        "Token …",
    )
    context = {
        "rows": rows,
        "scenarios": scenarios,
        "cities": cities,
        "sandbox": settings.SANDBOX_MODE,
        "now": clock.now(),
        "time_zone": settings.TIME_ZONE,
        # The address this page was asked for, so its examples work as written.
        "base_url": f"{request.scheme}://{request.get_host()}",
        "example_authorization": example,
        "demo_pin": demo_pin,
    }
    return render(request, "sandbox/home.html", context)


urlpatterns = [
    path("", home, name="home"),
    path("postman-collection.json", postman_collection_view, name="postman-collection"),
]
