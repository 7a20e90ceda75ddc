from django.urls import path

from sandbox import apis, event_triggers

urlpatterns = [
    path(
        "sandbox/events/trigger",
        event_triggers.EventTriggerApi.as_view(),
        name="sandbox-event-trigger",
    ),
    path("sandbox/scenarios", apis.ScenarioListApi.as_view(), name="sandbox-scenarios"),
    path(
        "sandbox/scenarios/<str:code>",
        apis.ScenarioCreateApi.as_view(),
        name="sandbox-scenario-create",
    ),
    path("sandbox/clock", apis.ClockApi.as_view(), name="sandbox-clock"),
    path("sandbox/clock/advance", apis.ClockAdvanceApi.as_view(), name="sandbox-clock-advance"),
    path("sandbox/developers", apis.DeveloperCreateApi.as_view(), name="sandbox-developers"),
    path("sandbox/worlds", apis.WorldListCreateApi.as_view(), name="sandbox-worlds"),
    path("sandbox/worlds/<int:world_id>", apis.WorldDetailApi.as_view(), name="sandbox-world"),
]
