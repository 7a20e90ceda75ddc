import time

from celery import current_app as celery_app
from django.conf import settings
from django.db import connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from common.cache import cache_check
from common.errors import CommonErrorCode, DomainError, ErrorCodes


def all_error_codes() -> dict[str, ErrorCodes]:
    """Every code any app can answer with, from each app's enum."""
    codes: dict[str, ErrorCodes] = {}
    pending = list(ErrorCodes.__subclasses__())
    while pending:
        enum_cls = pending.pop()
        pending.extend(enum_cls.__subclasses__())
        for member in enum_cls:
            codes[member.code] = member
    return dict(sorted(codes.items()))


class ApiRootApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="API root: links to the main resources",
        description="Absolute links to the health check, the schema and its docs, the problem "
        "catalogue, login, the caller's own details and balance, cities and persons, and "
        "whether this server runs in sandbox mode. Public: no login needed.",
        responses=OpenApiTypes.OBJECT,
        tags=["meta"],
    )
    def get(self, request):
        def link(name, **kwargs):
            return reverse(name, request=request, kwargs=kwargs or None)

        return Response(
            {
                "health": link("health"),
                "schema": link("schema"),
                "docs": link("docs"),
                "problems": link("problem-list"),
                "login": link("auth-login"),
                "me": link("me"),
                "my_balance": link("me-balance"),
                "cities": link("city-list"),
                "persons": link("person-list"),
                "sandbox_mode": settings.SANDBOX_MODE,
            }
        )


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Health: database, broker and cache status",
        description="Checks PostgreSQL, the Celery broker and the cache (Redis) and reports each "
        "with its latency. `ok` (200): all answer. `degraded` (200): the cache does not, and the "
        "service still serves (logins throttled per process, online balance queries answering "
        "`PLATFORM_BUSY`, the live channels unaffected), so a load balancer keeps sending "
        "traffic. `unavailable` (503): the database or the broker does not answer. Public and "
        "unauthenticated, for load balancers and monitoring.",
        tags=["meta"],
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(["ok", "degraded"]),
                    "database": serializers.DictField(),
                    "broker": serializers.DictField(),
                    "cache": serializers.DictField(),
                },
            ),
            503: OpenApiTypes.OBJECT,
        },
    )
    def get(self, request):
        database = self._check(self._database)
        broker = self._check(self._broker)
        cache = self._check(cache_check)
        if not (database["ok"] and broker["ok"]):
            status = "unavailable"
        else:
            status = "ok" if cache["ok"] else "degraded"
        return Response(
            {"status": status, "database": database, "broker": broker, "cache": cache},
            status=503 if status == "unavailable" else 200,
        )

    @staticmethod
    def _check(probe) -> dict:
        started = time.perf_counter()
        try:
            detail = probe()
        except Exception as exc:  # a health check reports failures, it does not raise them
            return {"ok": False, "error": type(exc).__name__}
        return {
            "ok": True,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            **detail,
        }

    @staticmethod
    def _database() -> dict:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"vendor": connection.vendor}

    @staticmethod
    def _broker() -> dict:
        if celery_app.conf.task_always_eager:
            return {"transport": "in-process"}
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            return {"transport": conn.transport_cls}


class ErrorCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.IntegerField()
    title = serializers.CharField()


def _problem_entry(member: ErrorCodes) -> dict:
    return {"code": member.code, "status": member.status, "title": member.title}


class ProblemListApi(APIView):
    permission_classes = [AllowAny]
    pagination_class = None

    @extend_schema(
        summary="Every error code the API answers with",
        description="Each stable `code` a problem response can carry, with its HTTP status and "
        "title, sorted by code. A problem's `type` links to its entry here. Public: no login "
        "needed.",
        tags=["meta"],
        responses=ErrorCodeSerializer(many=True),
    )
    def get(self, request):
        return Response([_problem_entry(member) for member in all_error_codes().values()])


class ProblemDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="One error code",
        description="The HTTP status and title of one `code` (the address a problem's `type` "
        "names); an unknown code answers 404. Public: no login needed.",
        tags=["meta"],
        responses=ErrorCodeSerializer,
    )
    def get(self, request, code: str):
        member = all_error_codes().get(code)
        if member is None:
            raise DomainError(CommonErrorCode.NOT_FOUND, f"No error code {code!r}.")
        return Response(_problem_entry(member))


class NotFoundApi(APIView):
    """Catches every unknown address under /api/ so it answers a problem, whatever the method."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    schema = None

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise DomainError(CommonErrorCode.NOT_FOUND, f"No resource at {request.path}.")

    def get(self, request, *args, **kwargs):
        raise DomainError(CommonErrorCode.NOT_FOUND, f"No resource at {request.path}.")

    post = put = patch = delete = head = options = get


# The docs pages load nothing from another origin, so they work on a closed network: scripts and
# styles come from this server (drf-spectacular-sidecar), fonts are the system's (the Redoc page's
# template drops its web fonts), and the policy stops the browser fetching the one image Redoc's
# bundle names on its makers' site, before any request leaves the machine.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


class _OfflineDocsMixin:
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class RedocDocsView(_OfflineDocsMixin, SpectacularRedocView):
    pass


class SwaggerDocsView(_OfflineDocsMixin, SpectacularSwaggerView):
    pass
