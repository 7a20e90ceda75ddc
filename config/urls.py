from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from api import views as service_views
from api.users import apis as user_apis

api_v1 = [
    path("", service_views.ApiRootApi.as_view(), name="api-root"),
    path("health", service_views.HealthApi.as_view(), name="health"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", service_views.SwaggerDocsView.as_view(url_name="schema"), name="docs"),
    path("redoc", service_views.RedocDocsView.as_view(url_name="schema"), name="redoc"),
    path("problems", service_views.ProblemListApi.as_view(), name="problem-list"),
    path("problems/<str:code>", service_views.ProblemDetailApi.as_view(), name="problem-detail"),
    path(
        "balance-reasons/<str:code>",
        service_views.ReasonDetailApi.as_view(),
        name="balance-reason-detail",
    ),
    path("auth/login", user_apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout", user_apis.LogoutApi.as_view(), name="auth-logout"),
    path("me", user_apis.MeApi.as_view(), name="me"),
    path("", include("api.cities.urls")),
    path("", include("api.persons.urls")),
    path("", include("api.cards.urls")),
    path("", include("api.accounts.urls")),
    path("", include("api.employers.urls")),
    path("", include("api.uploads.urls")),
    path("", include("api.settlement.urls")),
    path("", include("api.events.urls")),
    path("", include("api.claims.urls")),
    path("", include("api.webhooks.urls")),
    path("", include("sandbox.urls")),
]

urlpatterns = [
    path("", include("sandbox.pages")),
    path("admin/", admin.site.urls),
    path("fsi/", include("fsi.urls")),
    path("api/v1/", include(api_v1)),
    # Where people guess the API's pages are.
    re_path(r"^api/(?:v1/)?docs/?$", RedirectView.as_view(pattern_name="docs")),
    re_path(r"^api/(?:v1/)?redoc/?$", RedirectView.as_view(pattern_name="redoc")),
    re_path(r"^api/.*$", service_views.NotFoundApi.as_view()),
]

# The console's names and home page: sandbox/console.py (ConsoleAdminSite).

handler400 = "common.problems.handler400"
handler403 = "common.problems.handler403"
handler404 = "common.problems.handler404"
handler500 = "common.problems.handler500"
