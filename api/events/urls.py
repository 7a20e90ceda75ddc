from django.urls import path

from api.events import apis

urlpatterns = [
    path("events", apis.EventListApi.as_view(), name="event-list"),
    path("events/<str:event_id>", apis.EventDetailApi.as_view(), name="event-detail"),
]
