"""One settings module; every deployment differs only through environment variables.

DJANGO_ENV picks the defaults:
- ``demo`` (the default): an embedded PostgreSQL (pgserver), Celery tasks run in-process,
  sandbox mode on.
- ``production``: PostgreSQL, Celery on Redis, sandbox mode off, hardened for ``check --deploy``.
- ``test``: PostgreSQL and a real Celery broker, as the test suite needs.
Any single setting can still be overridden by its own variable.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DJANGO_VAR_DIR", BASE_DIR / "var"))

ENV = os.environ.get("DJANGO_ENV", "demo").lower()
if ENV not in {"demo", "production", "test"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be demo, production or test, not {ENV!r}")
IS_PRODUCTION = ENV == "production"
IS_DEMO = ENV == "demo"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------

if IS_PRODUCTION:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to at least 50 random characters")
else:
    SECRET_KEY = os.environ.get(
        "DJANGO_SECRET_KEY", "insecure-demo-key-only-for-the-embedded-sandbox-0123456789abcdef"
    )

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Sandbox mode exposes the scenario catalogue, the simulated clock and client-chosen outcomes.
SANDBOX_MODE = env_bool("SANDBOX_MODE", not IS_PRODUCTION)

INSTALLED_APPS = [
    # Django's admin, with the operators' console (sandbox/console.py) as its site.
    "sandbox.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_fsm",
    "simple_history",
    "django_celery_beat",
    "common",
    "users",
    "cities",
    "institutions",
    "events",
    "persons",
    "employers",
    "cards",
    "accounts",
    "uploads",
    "settlement",
    "claims",
    "inquiry",
    "webhooks",
    "jobs",
    "fsi",
    "sandbox",
]

MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",
    "common.middleware.NulCharacterGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session (it may read the language from it), before CommonMiddleware (which may
    # redirect to a language's URL); then ?lang=, which a browser link can set where a header cannot.
    "django.middleware.locale.LocaleMiddleware",
    "common.middleware.LanguageQueryMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "sandbox.middleware.WorldClockMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "users.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

# One engine everywhere. The demo, unless DATABASE_URL names a server, runs on an embedded
# PostgreSQL from the pgserver wheel, with its data under var/ (started on first use).
DEMO_DATA_DIR = VAR_DIR / "demo-postgres"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    if IS_DEMO:
        from config.embedded_postgres import database_url as embedded_database_url

        DATABASE_URL = embedded_database_url(DEMO_DATA_DIR)
    else:
        DATABASE_URL = "postgres://postgres@127.0.0.1:5432/yibao"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Yibao runs on PostgreSQL only: DATABASE_URL must be postgres://")
# Production keeps connections (and the balance query's prepared statement) for a minute. The
# demo's development server starts a thread per request, each with its own connection: it closes
# them, or a burst would use up the embedded server's connection slots.
DATABASES["default"]["CONN_MAX_AGE"] = int(
    os.environ.get("DATABASE_CONN_MAX_AGE", "0" if IS_DEMO else "60")
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# PostgreSQL compiles a query to machine code (JIT) when its estimated cost is high, which every
# set-based statement of a job is: compiling took 0.65 s of a 0.93 s statement of a crediting
# chunk, and a job runs one such statement per chunk. No query here runs long enough to win it
# back. DATABASE_JIT=on leaves the server's own setting (a pooler in transaction mode that
# refuses startup options needs that, or the setting made on the server).
if os.environ.get("DATABASE_JIT", "off") == "off":
    _database_options = DATABASES["default"].setdefault("OPTIONS", {})
    _database_options["options"] = f"{_database_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (the per-city query limiter and the login throttle count here) -------------------

REDIS_URL = os.environ.get("REDIS_URL", "" if IS_DEMO else "redis://127.0.0.1:6379/1")
# Redis answers in well under a millisecond; one that takes longer than this counts as down.
# After a failure a process leaves Redis alone for CACHE_PAUSE_SECONDS (see common/cache.py),
# so a hung Redis costs each process one timeout per pause, not one per request.
CACHE_TIMEOUT_SECONDS = float(os.environ.get("CACHE_TIMEOUT_SECONDS", "0.25"))
CACHE_PAUSE_SECONDS = float(os.environ.get("CACHE_PAUSE_SECONDS", "5"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "common.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "yibao"),
            "OPTIONS": {
                "socket_connect_timeout": CACHE_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_TIMEOUT_SECONDS,
                "pause_seconds": CACHE_PAUSE_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get(
    "CELERY_BROKER_URL", "memory://" if IS_DEMO else "redis://127.0.0.1:6379/0"
)
# The demo needs no worker: tasks run in-process, right after the transaction that queued them.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", IS_DEMO)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
# Every task here is idempotent, so a task is acknowledged only once it has finished.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than the longest job (a million-account crediting run), so Redis does not redeliver it
# while it is still running.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Publishing gives up quickly when the broker is down; the job is already recorded in the
# database and the periodic sweep enqueues it again.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# --- Events ---------------------------------------------------------------------------------

# Recording can be turned off (the crediting benchmark measures a run with and without).
EVENTS_ENABLED = env_bool("EVENTS_ENABLED", True)
# Events older than this are deleted by a periodic task.
EVENTS_RETENTION_DAYS = int(os.environ.get("EVENTS_RETENTION_DAYS", "30"))

# --- Webhooks -------------------------------------------------------------------------------

# Outside production a webhook may go to loopback and private addresses (a developer's receiver on
# this machine); production delivers to public addresses only (webhooks/destinations.py).
WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = env_bool(
    "WEBHOOK_ALLOW_PRIVATE_DESTINATIONS", not IS_PRODUCTION
)
# Seconds to connect, and to wait for each read of the answer: a receiver that hangs costs a worker
# at most this long per attempt.
WEBHOOK_CONNECT_TIMEOUT = float(os.environ.get("WEBHOOK_CONNECT_TIMEOUT", "3"))
WEBHOOK_READ_TIMEOUT = float(os.environ.get("WEBHOOK_READ_TIMEOUT", "10"))
# Seconds to wait before each retry; the delivery fails after the last one.
WEBHOOK_RETRY_DELAYS = [
    int(seconds)
    for seconds in env_list("WEBHOOK_RETRY_DELAYS", ["5", "30", "120", "600", "3600", "21600"])
]
# An endpoint is disabled after this many failed deliveries in a row, or once its deliveries have
# failed for this many hours with none succeeding.
WEBHOOK_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOK_DISABLE_AFTER_FAILURES", "20"))
WEBHOOK_DISABLE_AFTER_HOURS = int(os.environ.get("WEBHOOK_DISABLE_AFTER_HOURS", "72"))
# How long the previous secret still signs after a rotation.
WEBHOOK_SECRET_ROTATION_HOURS = int(os.environ.get("WEBHOOK_SECRET_ROTATION_HOURS", "24"))
# Deliveries sent by one task (to one endpoint), and at once by one task.
WEBHOOK_BATCH_SIZE = int(os.environ.get("WEBHOOK_BATCH_SIZE", "100"))
WEBHOOK_SEND_CONCURRENCY = int(os.environ.get("WEBHOOK_SEND_CONCURRENCY", "16"))
# A PENDING delivery whose message was sent this long ago without an attempt is sent again.
WEBHOOK_REQUEUE_AFTER_SECONDS = int(os.environ.get("WEBHOOK_REQUEUE_AFTER_SECONDS", "300"))
# Event ids missing when the dispatcher passed them are looked for this long (a transaction that
# inserted them may still commit); then they count as rolled back.
WEBHOOK_GAP_TIMEOUT_MINUTES = int(os.environ.get("WEBHOOK_GAP_TIMEOUT_MINUTES", "60"))

# --- Internationalisation -------------------------------------------------------------------

# English for a client that sends no Accept-Language (and no ?lang=): API clients written against
# the English texts keep them; a browser or app that asks for zh-Hans gets simplified Chinese.
LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# The project's catalogue (make messages / make compile-messages); the .mo is built, not committed.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
# Dates and times shown as the API's texts show them: 2026-11-03 00:00, in TIME_ZONE.
FORMAT_MODULE_PATH = "config.formats"

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production the demo serves static files straight from the apps, no collectstatic.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = not IS_PRODUCTION

# --- Authentication -------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=int(os.environ.get("API_TOKEN_TTL_HOURS", "10"))),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": None,
    "AUTO_REFRESH": False,
}
LOGIN_URL = "admin:login"
# Login limits (users/throttles.py), besides LOGIN_THROTTLE_RATE (attempts per address): failed
# attempts per username and address, and per username from every address, per window. The
# second exceeds twice the first, so that no single address can lock a user out.
LOGIN_FAILURE_WINDOW_MINUTES = int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", "15"))
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "10"))
LOGIN_FAILURES_PER_USERNAME = int(os.environ.get("LOGIN_FAILURES_PER_USERNAME", "100"))
if LOGIN_FAILURES_PER_USERNAME <= 2 * LOGIN_FAILURES_PER_ADDRESS:
    raise ImproperlyConfigured(
        "LOGIN_FAILURES_PER_USERNAME must exceed twice LOGIN_FAILURES_PER_ADDRESS, or one "
        "address could lock a user out"
    )
NUM_PROXIES = int(os.environ.get("NUM_PROXIES", "0"))
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 (no proxy in front) or more")

# --- REST framework and OpenAPI -------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "users.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.parsers.SafeJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.negotiation.StrictFormatNegotiation",
    "DEFAULT_FILTER_BACKENDS": ["common.filters.BoundedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "common.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.problems.problem_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {
        "login": os.environ.get("LOGIN_THROTTLE_RATE", "10/min"),
        # Offline e-voucher activations per pharmacy terminal: a success tells the pharmacy the
        # ID it read is insured, so no terminal may run through IDs (users/throttles.py).
        "pharmacy_activation": os.environ.get("PHARMACY_ACTIVATION_RATE", "30/hour"),
    },
    # Trusted reverse proxies in front of the app, each appending to X-Forwarded-For; 0 (no
    # proxy): the peer address is the client's and the header is ignored (users/throttles.py).
    "NUM_PROXIES": NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Yibao medical-insurance account API",
    "DESCRIPTION": (
        "A city-based medical-insurance account backend. Every balance query says whether the "
        "balance is visible and, when it is not, every reason with its remedy. Errors are RFC 9457 "
        "problem details (`application/problem+json`) with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ReasonCodeEnum": "accounts.reasons.REASON_CHOICES",
        "FaceAuthOutcomeEnum": "cards.models.FaceAuthAttempt.Outcome",
        "EVoucherStatusEnum": "cards.models.EVoucher.Status",
        "EVoucherPlatformEnum": "cards.models.EVoucher.Platform",
        "ContributionKindEnum": "accounts.models.Contribution.Kind",
        "ClaimReasonCodeEnum": "claims.models.ReimbursementClaim.RejectionReason",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "common.openapi.add_problem_responses",
        "common.openapi.add_header_formats_and_links",
        "api.recorded_examples.add_recorded_examples",
    ],
}

# --- Security (production hardening; each switch can be turned off by its variable) ---------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", IS_PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", IS_PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", IS_PRODUCTION)
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000" if IS_PRODUCTION else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = IS_PRODUCTION
SECURE_HSTS_PRELOAD = IS_PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Logging: one JSON object per line, with the request id -----------------------------------

LOG_LEVEL = os.environ.get("LOG_LEVEL", "WARNING" if ENV == "test" else "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "common.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}

# --- Product settings -----------------------------------------------------------------------

# How many failed face authentications lock further e-voucher attempts, and for how long.
EVOUCHER_FACE_AUTH_MAX_FAILURES = int(os.environ.get("EVOUCHER_FACE_AUTH_MAX_FAILURES", "3"))
EVOUCHER_FACE_AUTH_LOCK_MINUTES = int(os.environ.get("EVOUCHER_FACE_AUTH_LOCK_MINUTES", "30"))
# Wrong card PINs in a row at terminals before the card's PIN locks until the end of the day
# (on the domain clock), as a bank card's does.
CARD_PIN_MAX_FAILURES = int(os.environ.get("CARD_PIN_MAX_FAILURES", "5"))
# How long an e-voucher presentation code (the dynamic QR code) stays valid, on the domain clock.
EVOUCHER_PRESENTATION_CODE_MINUTES = int(os.environ.get("EVOUCHER_PRESENTATION_CODE_MINUTES", "10"))
# Postings to a striped account (a city's pools, clearing and source accounts, an institution's)
# go to one of its stripes that no other transaction holds; off, to the account's own row, so
# concurrent postings of one city take turns on it (as before striping; kept for the benchmarks).
LEDGER_STRIPING = env_bool("LEDGER_STRIPING", True)
# Rows per transaction in set-based jobs (crediting, uploads).
JOB_CHUNK_SIZE = int(os.environ.get("JOB_CHUNK_SIZE", "50000"))
# A job left PENDING or RUNNING this long without progress is picked up again by the sweep.
JOB_STALE_AFTER = timedelta(minutes=int(os.environ.get("JOB_STALE_AFTER_MINUTES", "10")))
# National medical-insurance service hotline.
NHSA_HOTLINE = "12393"
CSRF_FAILURE_VIEW = "common.problems.csrf_failure"

if ENV == "test":
    # Real hashing, cheaper work factor: the suite creates many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
