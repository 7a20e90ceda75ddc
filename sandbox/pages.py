from django.conf import settings
from django.shortcuts import render
from django.urls import path

from common import clock


def home(request):
    """The front page: links, and in sandbox mode the demo world's who-is-who with credentials."""
    rows = []
    if settings.SANDBOX_MODE:
        from sandbox.demo import demo_world_table
        from sandbox.scenarios import SCENARIOS

        rows = demo_world_table()
        scenarios = list(SCENARIOS.values())
    else:
        scenarios = []
    context = {
        "rows": rows,
        "scenarios": scenarios,
        "sandbox": settings.SANDBOX_MODE,
        "now": clock.now(),
    }
    return render(request, "sandbox/home.html", context)


urlpatterns = [path("", home, name="home")]
