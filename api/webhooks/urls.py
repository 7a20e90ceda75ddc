from django.urls import path

from api.webhooks import apis

urlpatterns = [
    path("webhook-endpoints", apis.EndpointCollectionApi.as_view(), name="webhook-endpoint-list"),
    path(
        "webhook-endpoints/<int:endpoint_id>",
        apis.EndpointDetailApi.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/rotate-secret",
        apis.EndpointSecretRotationApi.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<int:endpoint_id>/deliveries",
        apis.EndpointDeliveryListApi.as_view(),
        name="webhook-endpoint-deliveries",
    ),
    path(
        "webhook-deliveries/<int:delivery_id>/retry",
        apis.DeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
    path("events/<str:event_id>/resend", apis.EventResendApi.as_view(), name="event-resend"),
]
