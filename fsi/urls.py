from django.urls import path

from fsi import views

app_name = "fsi"

urlpatterns = [
    path("api/rsfComIfsService/callService", views.call_service, name="call-service"),
    path("docs/", views.docs_index, name="docs"),
    path("docs/<str:infno>", views.docs_transaction, name="docs-transaction"),
]
