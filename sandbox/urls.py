from django.urls import path

from sandbox import apis

urlpatterns = [
    path("sandbox/scenarios", apis.ScenarioListApi.as_view(), name="sandbox-scenarios"),
    path(
        "sandbox/scenarios/<str:code>",
        apis.ScenarioCreateApi.as_view(),
        name="sandbox-scenario-create",
    ),
    path("sandbox/clock", apis.ClockApi.as_view(), name="sandbox-clock"),
    path("sandbox/clock/advance", apis.ClockAdvanceApi.as_view(), name="sandbox-clock-advance"),
]
