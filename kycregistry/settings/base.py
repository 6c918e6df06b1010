"""Settings read from the environment; see README "Configuration" for each variable."""

from pathlib import Path

import dj_database_url

from kycregistry.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_str(
    "DJANGO_SECRET_KEY",
    default="dev-only-insecure-key-change-me" if DEBUG else None,
)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)

INSTALLED_APPS = [
    "kycregistry.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_htmx",
    "workers",  # before django_tasks_db: its db_worker (with a heartbeat) is the one run
    "django_tasks_db",
    "organisations",
    "customers",
    "relations",
    "onboarding",
    "imports",
    "kyc",
    "clients",
    "webhooks",
    "screening",
    "demo",
]

MIDDLEWARE = [
    "kycregistry.api.request_id.RequestIdMiddleware",
    # Under /api/: JSON 403 for plain HTTP (instead of the redirect below), 411 for a
    # chunked body, Cache-Control: no-store (kycregistry/api/middleware.py).
    "kycregistry.api.middleware.ApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kycregistry.api.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, users, messages and htmx serve the admin; API routes authenticate with
    # a key in a header and skip them (kycregistry.api.middleware.WebOnly). CSRF stays
    # by name (the deploy check looks for it); DRF's views are exempt from it.
    "kycregistry.api.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "kycregistry.api.middleware.AuthenticationMiddleware",
    "kycregistry.api.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "kycregistry.api.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "kycregistry.urls"
WSGI_APPLICATION = "kycregistry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A reused connection is tested (SELECT 1) before a request's first query, so
        # a connection the server dropped costs no failed request; one round trip each.
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", default=True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Two gunicorn workers and a task worker share the file: WAL lets readers run
    # beside the writer, IMMEDIATE takes the write lock at BEGIN (no upgrade
    # deadlock), and the busy timeout makes a writer wait instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].pop("CONN_HEALTH_CHECKS", None)
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("KYC_MEDIA_ROOT", str(BASE_DIR / "media")))

# Request bodies: JSON bodies are small; uploads go through the bulk-upload cap.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("KYC_MAX_JSON_BODY_BYTES", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["organisations.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["organisations.permissions.HasScope"],
    "DEFAULT_PARSER_CLASSES": ["kycregistry.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "kycregistry.api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "kycregistry.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "kycregistry.api.exceptions.envelope_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 20,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "kycregistry API",
    "DESCRIPTION": "Customer registry for compliance teams. Authenticate with "
    "`Authorization: Bearer <key>`. A success answers `{status, message, data, code}` "
    "(lists add `meta` with the page or the next cursor); an error answers `{message, "
    "error, statusCode}`, with `errors` naming each invalid field.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "CAMELIZE_NAMES": False,
    # Choice sets shared by several fields get one name each.
    "ENUM_NAME_OVERRIDES": {
        "IdentityTypeEnum": ["individual", "corporate"],
        "FieldTypeEnum": "customers.models.FieldType",
        "SessionStatusEnum": "kyc.models.SessionStatus",
        "CheckStatusEnum": "kyc.models.CheckStatus",
    },
}

# History is read in the admin; a "revert" would write around the services.
SIMPLE_HISTORY_REVERT_DISABLED = True
# History is read per object (indexed by id); a history_date index would only slow the
# writes of every change (bulk imports write 100k history rows at once).
SIMPLE_HISTORY_DATE_INDEX = False

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Django 6 CSP: everything is served from our own origin; no inline script, no inline
# style (no `style=` attribute, no <style> element: every look is a class in a
# stylesheet), no eval.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kycregistry.api.request_id.RequestIdFilter"}},
    "formatters": {
        "default": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "default",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # Django sets its own loggers to INFO: without this, DJANGO_LOG_LEVEL=ERROR would
    # still log a warning for every 4xx answer.
    "loggers": {"django": {"handlers": [], "level": env_str("DJANGO_LOG_LEVEL", "INFO")}},
}

# Product settings (README "Configuration").
KYC_MAX_CONNECTS = 1000
# An API key and its organisation are kept this long per process (revocation still
# takes effect at once: organisations/authentication.py).
KYC_API_KEY_CACHE_SECONDS = env_int("KYC_API_KEY_CACHE_SECONDS", 5)
# Lists count their rows exactly up to this many; above, PostgreSQL estimates.
KYC_EXACT_COUNT_LIMIT = env_int("KYC_EXACT_COUNT_LIMIT", 10_000)
KYC_UPLOAD_MAX_BYTES = env_int("KYC_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
KYC_UPLOAD_MAX_ROWS = env_int("KYC_UPLOAD_MAX_ROWS", 1_000_000)
# A bulk upload is validated, written and committed this many rows at a time.
KYC_UPLOAD_BATCH_ROWS = env_int("KYC_UPLOAD_BATCH_ROWS", 5000)
# On PostgreSQL, batch k+1 is read and validated while batch k is written (a writer
# thread with its own connection).
KYC_UPLOAD_OVERLAP = env_bool("KYC_UPLOAD_OVERLAP", default=True)
# Background jobs (kycregistry/jobs.py): a running job's worker renews its lease; a
# job whose lease expired is restarted, at most this many attempts in all.
KYC_JOB_LEASE_SECONDS = env_int("KYC_JOB_LEASE_SECONDS", 60)
KYC_JOB_MAX_ATTEMPTS = env_int("KYC_JOB_MAX_ATTEMPTS", 3)
# Each db_worker writes its heartbeat this often; the admin warns superusers when no
# worker has been seen for KYC_WORKER_ABSENT_AFTER_SECONDS (README "Background tasks").
KYC_WORKER_HEARTBEAT_SECONDS = env_int("KYC_WORKER_HEARTBEAT_SECONDS", 15)
KYC_WORKER_ABSENT_AFTER_SECONDS = env_int("KYC_WORKER_ABSENT_AFTER_SECONDS", 60)
# Webhooks: plain http and private/loopback destinations are refused unless allowed
# (tests and on-premise receivers); the sweep re-queues due deliveries this often.
WEBHOOKS_ALLOW_HTTP = env_bool("WEBHOOKS_ALLOW_HTTP", default=False)
WEBHOOKS_ALLOW_PRIVATE_URLS = env_bool("WEBHOOKS_ALLOW_PRIVATE_URLS", default=False)
WEBHOOKS_SWEEP_SECONDS = env_int("WEBHOOKS_SWEEP_SECONDS", 60)
WEBHOOKS_RETENTION_DAYS = env_int("WEBHOOKS_RETENTION_DAYS", 30)
