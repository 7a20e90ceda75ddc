import json
import time

from celery import current_app as celery_app
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from api.problem_docs import problem_page, reason_page
from common.cache import cache_check
from common.errors import CommonErrorCode, DomainError, ErrorCodes
from common.problems import PROBLEM_CONTENT_TYPE


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


class ProblemOperationSerializer(serializers.Serializer):
    method = serializers.CharField()
    path = serializers.CharField()
    operation_id = serializers.CharField()
    summary = serializers.CharField()
    reference = serializers.CharField(help_text="The operation in the API reference.")


class ProblemPageSerializer(ErrorCodeSerializer):
    cause = serializers.CharField(help_text="What makes the API answer with this code.")
    action = serializers.CharField(help_text="What the client or the person does about it.")
    answered_by = serializers.CharField(
        help_text="Where a code comes from the plumbing (any operation of a kind) or the "
        "national interface rather than from named operations; empty otherwise."
    )
    operations = ProblemOperationSerializer(
        many=True, help_text="The operations whose code can answer with it, read from the code."
    )
    example = serializers.DictField(help_text="A problem body with this code.")


def _problem_entry(member: ErrorCodes) -> dict:
    return {"code": member.code, "status": member.status, "title": str(member.title)}


class DocsPageRenderer(TemplateHTMLRenderer):
    """The same answer as a page, for a browser (Accept: text/html, or ?format=html)."""

    format = "html"

    def get_template_context(self, data, renderer_context):
        context = data if isinstance(data, dict) else {"items": data}
        if isinstance(context.get("example"), dict):
            context = {
                **context,
                "example_json": json.dumps(context["example"], ensure_ascii=False, indent=2),
            }
        return context


class DocsPageApi(APIView):
    """JSON for programs, a page for people; a problem is always problem+json."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer, DocsPageRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.exception:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = PROBLEM_CONTENT_TYPE
        return response


class ProblemListApi(DocsPageApi):
    pagination_class = None

    @extend_schema(
        summary="Every error code the API answers with",
        description="Each stable `code` a problem response can carry, with its HTTP status and "
        "title, sorted by code. A problem's `type` links to its entry here. With `Accept: "
        "text/html` (a browser) the same list is a page. Public: no login needed.",
        tags=["meta"],
        responses=ErrorCodeSerializer(many=True),
    )
    def get(self, request):
        problems = [_problem_entry(member) for member in all_error_codes().values()]
        if isinstance(request.accepted_renderer, DocsPageRenderer):
            return Response({"problems": problems}, template_name="api/problem_list.html")
        return Response(problems)


class ProblemDetailApi(DocsPageApi):
    @extend_schema(
        summary="One error code: its cause, what to do, which operations answer with it",
        description="The page a problem's `type` names: the code's HTTP status and title, what "
        "causes it, what to do about it, the operations that can answer with it (read from the "
        "code: each operation whose handler can reach it), or where it comes from when the "
        "plumbing answers it for any operation, and an example body. With `Accept: text/html` "
        "(a browser) the same is a page. An unknown code answers 404. Public: no login needed.",
        tags=["meta"],
        responses=ProblemPageSerializer,
    )
    def get(self, request, code: str):
        member = all_error_codes().get(code)
        if member is None:
            raise DomainError(
                CommonErrorCode.NOT_FOUND, _("No error code %(code)r.") % {"code": code}
            )
        return Response(problem_page(member), template_name="api/problem.html")


class ReasonPageSerializer(serializers.Serializer):
    code = serializers.CharField()
    order = serializers.IntegerField(help_text="Its place in a balance answer's reasons.")
    title = serializers.CharField()
    hides_balance = serializers.BooleanField()
    background = serializers.CharField(help_text="The rule or fact behind it.")
    remedy = serializers.CharField(help_text="What the person does, as the example says it.")
    scenario = serializers.CharField(help_text="The sandbox call that makes a person in it.")
    example = serializers.DictField(help_text="A real online balance answer with this reason.")


class ReasonDetailApi(DocsPageApi):
    @extend_schema(
        summary="One reason a balance is hidden: its rule, its remedy and an example",
        description="A reason code's place in the catalogue, its title, whether it hides the "
        "balance, the rule behind it, the remedy, the sandbox scenario that puts a person in it, "
        "and that person's online balance answer, recorded from the sandbox. With `Accept: "
        "text/html` (a browser) the same is a page. An unknown code answers 404. Public.",
        tags=["balance"],
        responses=ReasonPageSerializer,
    )
    def get(self, request, code: str):
        page = reason_page(code)
        if page is None:
            raise DomainError(
                CommonErrorCode.NOT_FOUND, _("No reason code %(code)r.") % {"code": code}
            )
        return Response(page, template_name="api/reason.html")


class NotFoundApi(APIView):
    """Catches every unknown address under /api/ so it answers a problem, whatever the method."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    schema = None

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise DomainError(
            CommonErrorCode.NOT_FOUND, _("No resource at %(path)s.") % {"path": request.path}
        )

    def get(self, request, *args, **kwargs):
        raise DomainError(
            CommonErrorCode.NOT_FOUND, _("No resource at %(path)s.") % {"path": request.path}
        )

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
