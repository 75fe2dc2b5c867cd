"""One settings module, driven by environment variables.

Local mode (the default) needs no configuration: it talks to the embedded AWS
emulator that `make run` starts on 127.0.0.1:5000. Production mode
(EMAILHUB_ENV=production, or running inside AWS Lambda) refuses to start
without a real secret and talks to real AWS.

Code reads the EMAILHUB_* and AWS_* values through `django.conf.settings` at
call time, so tests can override any of them.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_bool(name, default):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name, default):
    value = env(name)
    return default if value is None else int(value)


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


ENVIRONMENT = env(
    "EMAILHUB_ENV", "production" if env("AWS_LAMBDA_FUNCTION_NAME") else "local"
)
PRODUCTION = ENVIRONMENT == "production"

# --- AWS -------------------------------------------------------------------
AWS_REGION = env("AWS_REGION", env("AWS_DEFAULT_REGION", "us-east-1"))
# Unset means real AWS; set means an emulator. Local mode points at the
# emulator that the running `make run` recorded (emailhub/local/state.py),
# else at its default port.
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL")
if AWS_ENDPOINT_URL is None and not PRODUCTION:
    from emailhub.local.state import local_endpoint

    AWS_ENDPOINT_URL = local_endpoint()

# The stage's secret (DJANGO_SECRET_KEY) lives in AWS Secrets
# Manager, read once here at cold start. Without a named secret (local mode,
# `check --deploy` by hand) they come from environment variables.
EMAILHUB_SECRETS_ID = env("EMAILHUB_SECRETS_ID")
_SECRETS = None
_SECRETS_SOURCE = "the environment"
if EMAILHUB_SECRETS_ID:
    from emailhub.aws.secrets import stage_secrets

    _SECRETS = stage_secrets(EMAILHUB_SECRETS_ID, region=AWS_REGION, endpoint_url=AWS_ENDPOINT_URL)
    _SECRETS_SOURCE = f"the stage's secret {EMAILHUB_SECRETS_ID!r} (AWS Secrets Manager)"


def secret(name):
    """A secret setting: only from the named secret when there is one, so a
    stray environment variable of the same name can never stand in for it."""
    return env(name) if _SECRETS is None else _SECRETS.get(name)


SECRET_KEY = secret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is not set in {_SECRETS_SOURCE}. Production mode needs a long "
            "random secret (see README, Deploy: Secrets)."
        )
    SECRET_KEY = "local-mode-only-not-a-secret"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")

INSTALLED_APPS = [
    # First, so its createsuperuser and changepassword (for DynamoDB accounts) stand in for Django's.
    "dashboard.apps.DashboardConfig",
    "dashboard.apps.DashboardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "emailhub",  # last: its ready() freezes what the apps loaded (emailhub/apps.py)
]

MIDDLEWARE = [
    "emailhub.middleware.RequestLogMiddleware",  # first: it times and logs everything below it
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "dashboard.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "emailhub.urls"
WSGI_APPLICATION = "emailhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# No relational database in any mode: staff accounts, their sessions and the
# login throttle live in the DynamoDB table (emailhub/staff/). Any ORM query
# fails loudly (Django's dummy backend).
DATABASES = {}
AUTH_USER_MODEL = "emailhub.StaffUser"
AUTHENTICATION_BACKENDS = ["emailhub.staff.backend.StaffBackend"]
SESSION_ENGINE = "emailhub.staff.sessions"
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"  # where a sign-in lands when its `next` is missing or unsafe
SESSION_COOKIE_AGE = env_int("EMAILHUB_SESSION_HOURS", 12) * 60 * 60
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# One JSON object per line (emailhub/logs.py). The metrics logger writes
# CloudWatch Embedded Metric Format lines as they are (emailhub/metrics.py).
# Neither propagates: Lambda's root handler would write each line twice.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "emailhub.logs.JsonFormatter"}, "raw": {"format": "%(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"},
                 "emf": {"class": "logging.StreamHandler", "formatter": "raw", "stream": "ext://sys.stdout"}},
    "loggers": {
        "emailhub": {"handlers": ["console"], "level": env("EMAILHUB_LOG_LEVEL", "INFO"), "propagate": False},
        "dashboard": {"handlers": ["console"], "level": env("EMAILHUB_LOG_LEVEL", "INFO"), "propagate": False},
        "emailhub.metrics": {"handlers": ["emf"], "level": "INFO", "propagate": False},
    },
}
# Write the CloudWatch EMF metric lines (on in Lambda; locally they would only crowd the terminal).
EMAILHUB_METRICS = env_bool("EMAILHUB_METRICS", PRODUCTION)
# "masked" (a***@example.com) or "full": how addresses appear in logs at INFO and above.
EMAILHUB_LOG_ADDRESSES = env("EMAILHUB_LOG_ADDRESSES", "masked")

# --- AWS names -------------------------------------------------------------
EMAILHUB_TABLE = env("EMAILHUB_TABLE", "emailhub")
EMAILHUB_OUTBOX_QUEUE = env("EMAILHUB_OUTBOX_QUEUE", "emailhub-outbox")
EMAILHUB_DLQ = env("EMAILHUB_DLQ", "emailhub-dlq")
EMAILHUB_EVENTS_TOPIC = env("EMAILHUB_EVENTS_TOPIC", "emailhub-ses-events")
EMAILHUB_EVENTS_QUEUE = env("EMAILHUB_EVENTS_QUEUE", "emailhub-events")
EMAILHUB_EVENTS_DLQ = env("EMAILHUB_EVENTS_DLQ", "emailhub-events-dlq")
EMAILHUB_PAYLOAD_BUCKET = env("EMAILHUB_PAYLOAD_BUCKET", "emailhub-payloads")
EMAILHUB_SES_CONFIGURATION_SET = env("EMAILHUB_SES_CONFIGURATION_SET", "emailhub")

# --- Sending ---------------------------------------------------------------
EMAILHUB_DEFAULT_FROM = env("EMAILHUB_DEFAULT_FROM", "no-reply@example.com")
EMAILHUB_SES_SANDBOX = env_bool("EMAILHUB_SES_SANDBOX", True)
EMAILHUB_MAX_RECIPIENTS = env_int("EMAILHUB_MAX_RECIPIENTS", 50)
EMAILHUB_MAX_REQUEST_BYTES = env_int("EMAILHUB_MAX_REQUEST_BYTES", 5 * 1024 * 1024)
# Requests larger than this are stored in S3 instead of inside the DynamoDB item
# (400 KB item limit) and the SQS dead-letter message (256 KiB).
EMAILHUB_INLINE_PAYLOAD_BYTES = env_int("EMAILHUB_INLINE_PAYLOAD_BYTES", 100 * 1024)
EMAILHUB_MAX_ATTEMPTS = env_int("EMAILHUB_MAX_ATTEMPTS", 5)
EMAILHUB_RETRY_BASE_SECONDS = env_int("EMAILHUB_RETRY_BASE_SECONDS", 2)
EMAILHUB_RETRY_MAX_SECONDS = env_int("EMAILHUB_RETRY_MAX_SECONDS", 900)
# How long a worker may hold an email in `sending` before its outcome is
# considered unknown (must exceed the worker's timeout).
EMAILHUB_CLAIM_LEASE_SECONDS = env_int("EMAILHUB_CLAIM_LEASE_SECONDS", 120)
EMAILHUB_RETENTION_DAYS = env_int("EMAILHUB_RETENTION_DAYS", 90)
EMAILHUB_IDEMPOTENCY_TTL_HOURS = max(24, env_int("EMAILHUB_IDEMPOTENCY_TTL_HOURS", 24))
EMAILHUB_API_KEY_CACHE_SECONDS = env_int("EMAILHUB_API_KEY_CACHE_SECONDS", 60)
EMAILHUB_IDENTITY_CACHE_SECONDS = env_int("EMAILHUB_IDENTITY_CACHE_SECONDS", 300)
# Local mode: publish the events real SES would after each send (emailhub/local/ses_simulator.py).
EMAILHUB_SES_EVENT_SIMULATOR = env_bool("EMAILHUB_SES_EVENT_SIMULATOR", not PRODUCTION)
# Pace sends to SES's MaxSendRate (split across this many concurrent workers).
EMAILHUB_SES_PACING = env_bool("EMAILHUB_SES_PACING", True)
EMAILHUB_WORKER_CONCURRENCY = env_int("EMAILHUB_WORKER_CONCURRENCY", 1)
EMAILHUB_SES_RATE_SHARE = float(env("EMAILHUB_SES_RATE_SHARE", "0.9"))
EMAILHUB_QUOTA_CACHE_SECONDS = env_int("EMAILHUB_QUOTA_CACHE_SECONDS", 60)
# A deferred email (24-hour quota used up) is tried again after this long (SQS allows 900 at most).
EMAILHUB_QUOTA_RETRY_SECONDS = env_int("EMAILHUB_QUOTA_RETRY_SECONDS", 900)
# Stuck-email alarm: still queued/retrying/sending after this many minutes, or
# sent with no delivery event after this many hours (0 turns that check off).
EMAILHUB_STUCK_QUEUED_MINUTES = env_int("EMAILHUB_STUCK_QUEUED_MINUTES", 15)
EMAILHUB_STUCK_SENT_HOURS = env_int("EMAILHUB_STUCK_SENT_HOURS", 6)
EMAILHUB_STUCK_LOOKBACK_DAYS = env_int("EMAILHUB_STUCK_LOOKBACK_DAYS", 3)
# The email log's index partitions (a status, the feed, a tag, ...) spread over
# this many shards: each takes N times DynamoDB's per-partition write rate, and
# a page reads N Queries per partition. Raise it, never lower it.
EMAILHUB_INDEX_SHARDS = env_int("EMAILHUB_INDEX_SHARDS", 1)
EMAILHUB_RESEND_PAUSE_SECONDS = float(env("EMAILHUB_RESEND_PAUSE_SECONDS", "0.5"))
# An SES event for an email whose send is not recorded yet is tried again after
# about this long (doubling per receive, at most 60 s), not the queue's timeout.
EMAILHUB_EVENT_RETRY_SECONDS = env_int("EMAILHUB_EVENT_RETRY_SECONDS", 2)
# --- Webhooks (emailhub/webhooks/) -------------------------------------------
EMAILHUB_WEBHOOKS_QUEUE = env("EMAILHUB_WEBHOOKS_QUEUE", "emailhub-webhooks")
EMAILHUB_WEBHOOKS_DLQ = env("EMAILHUB_WEBHOOKS_DLQ", "emailhub-webhooks-dlq")
# A POST to an endpoint gives up after this long (connect and read each).
EMAILHUB_WEBHOOK_TIMEOUT_SECONDS = float(env("EMAILHUB_WEBHOOK_TIMEOUT_SECONDS", "5"))
# Seconds before each next try of a failed delivery (SQS visibility, at most
# 43200 each): about a day in all, then the delivery is parked.
EMAILHUB_WEBHOOK_RETRY_SECONDS = [int(s) for s in env_list(
    "EMAILHUB_WEBHOOK_RETRY_SECONDS", "30,120,600,1800,3600,7200,14400,28800,28800")]
# An endpoint whose deliveries have failed for this long (no success between) is disabled.
EMAILHUB_WEBHOOK_DISABLE_AFTER_HOURS = env_int("EMAILHUB_WEBHOOK_DISABLE_AFTER_HOURS", 24)
# Each process keeps the endpoint list this long: no endpoint, no AWS call per email.
EMAILHUB_WEBHOOK_CACHE_SECONDS = env_int("EMAILHUB_WEBHOOK_CACHE_SECONDS", 5)
# A rotated secret keeps signing (beside the new one) for this long.
EMAILHUB_WEBHOOK_SECRET_OVERLAP_HOURS = env_int("EMAILHUB_WEBHOOK_SECRET_OVERLAP_HOURS", 24)

# Reputation guard: sending pauses by itself when the bounce or complaint
# rate over SES's window (EMAILHUB_REPUTATION_WINDOW_HOURS) passes these
# percentages, once at least EMAILHUB_GUARD_MIN_SENT emails were sent in it.
EMAILHUB_BOUNCE_GUARD = float(env("EMAILHUB_BOUNCE_GUARD", "4"))
EMAILHUB_COMPLAINT_GUARD = float(env("EMAILHUB_COMPLAINT_GUARD", "0.08"))
EMAILHUB_GUARD_MIN_SENT = env_int("EMAILHUB_GUARD_MIN_SENT", 500)
EMAILHUB_REPUTATION_WINDOW_HOURS = env_int("EMAILHUB_REPUTATION_WINDOW_HOURS", 7 * 24)
# Alarm (bootstrap_aws --stage): the outbox's oldest message older than this.
EMAILHUB_ALARM_OUTBOX_AGE_SECONDS = env_int("EMAILHUB_ALARM_OUTBOX_AGE_SECONDS", 1800)
# An operator's "resume sending" holds this long, even with a rate still past its guard.
EMAILHUB_GUARD_RESUME_HOURS = env_int("EMAILHUB_GUARD_RESUME_HOURS", 24)
# How long a worker trusts the guard's last reading before reading the counters again.
EMAILHUB_GUARD_CACHE_SECONDS = env_int("EMAILHUB_GUARD_CACHE_SECONDS", 60)

# POST /emails/batch takes at most this many emails (its body is bounded by
# EMAILHUB_MAX_REQUEST_BYTES like any request's).
EMAILHUB_MAX_BATCH = env_int("EMAILHUB_MAX_BATCH", 100)
# send_at may be at most this many days ahead.
EMAILHUB_MAX_SCHEDULE_DAYS = env_int("EMAILHUB_MAX_SCHEDULE_DAYS", 30)
# The scheduler's tick looks back at most this many minute buckets (after an
# outage it catches up this many minutes per tick).
EMAILHUB_SCHEDULER_CATCH_UP_MINUTES = env_int("EMAILHUB_SCHEDULER_CATCH_UP_MINUTES", 60)
# Crash drills only (emailhub/faults.py): the worker step at which the process
# kills itself. Never honoured in production.
EMAILHUB_FAULT_POINT = "" if PRODUCTION else env("EMAILHUB_FAULT_POINT", "")

# --- Staff -------------------------------------------------------------------
# A change to an account (deactivation, role) reaches other processes within this.
EMAILHUB_STAFF_CACHE_SECONDS = env_int("EMAILHUB_STAFF_CACHE_SECONDS", 5)
EMAILHUB_LOGIN_MAX_FAILURES = env_int("EMAILHUB_LOGIN_MAX_FAILURES", 5)
EMAILHUB_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("EMAILHUB_LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
EMAILHUB_LOGIN_LOCK_MINUTES = env_int("EMAILHUB_LOGIN_LOCK_MINUTES", 15)
# Admins must turn on a TOTP second factor before they can use the dashboard.
EMAILHUB_REQUIRE_MFA = env_bool("EMAILHUB_REQUIRE_MFA", False)

DATA_UPLOAD_MAX_MEMORY_SIZE = EMAILHUB_MAX_REQUEST_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000  # a bulk resend posts up to 200 ids

# --- Production --------------------------------------------------------------
# Only in production mode, so local mode and the tests keep needing nothing.
if PRODUCTION:
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is {len(SECRET_KEY)} characters; production needs at least 50 "
            "random ones: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    # The stage's public URL (printed by `zappa deploy`, or a custom domain):
    # its host is allowed and its origin trusted by the CSRF check.
    EMAILHUB_URL = env("EMAILHUB_URL")
    if EMAILHUB_URL:
        from urllib.parse import urlsplit

        _url = urlsplit(EMAILHUB_URL)
        if _url.scheme != "https" or not _url.hostname:
            raise ImproperlyConfigured(f"EMAILHUB_URL must be an https:// URL, not {EMAILHUB_URL!r}.")
        ALLOWED_HOSTS = [*ALLOWED_HOSTS, _url.hostname]
        CSRF_TRUSTED_ORIGINS = [f"https://{_url.netloc}"]
    if not ALLOWED_HOSTS:
        # Before the first deploy prints the URL: API Gateway's own host names
        # (requests reach this Lambda only through its API).
        ALLOWED_HOSTS = [f".execute-api.{AWS_REGION}.amazonaws.com"]

    # API Gateway terminates TLS and says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

    # Static files (the admin's CSS and JavaScript) live in S3: Lambda has no
    # disk to serve them from. `zappa manage <stage> "collectstatic --noinput"`
    # uploads them; pages link straight to the bucket (or EMAILHUB_STATIC_DOMAIN,
    # e.g. a CloudFront distribution in front of it).
    EMAILHUB_STATIC_BUCKET = env("EMAILHUB_STATIC_BUCKET")
    if not EMAILHUB_STATIC_BUCKET:
        raise ImproperlyConfigured(
            "EMAILHUB_STATIC_BUCKET is not set. Production serves the admin's static files "
            "from this S3 bucket; `python manage.py bootstrap_aws` creates it."
        )
    _static = {
        "bucket_name": EMAILHUB_STATIC_BUCKET,
        "location": "static",
        "region_name": AWS_REGION,
        "custom_domain": env("EMAILHUB_STATIC_DOMAIN", f"{EMAILHUB_STATIC_BUCKET}.s3.{AWS_REGION}.amazonaws.com"),
        "querystring_auth": False,
        "default_acl": None,
        "file_overwrite": True,
        "object_parameters": {"CacheControl": "public, max-age=86400"},
    }
    if AWS_ENDPOINT_URL:
        _static["endpoint_url"] = AWS_ENDPOINT_URL
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _static},
    }
