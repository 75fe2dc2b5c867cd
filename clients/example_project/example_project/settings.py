"""A Django project that sends through Emailhub with django-anymail and hears
back through the tracking webhook. Everything comes from the environment:

    EMAILHUB_API_URL         where Emailhub is (http://127.0.0.1:8000 for `make run`)
    EMAILHUB_API_KEY         an Emailhub API key (eh_...)
    EMAILHUB_WEBHOOK_SECRET  the whsec_... secret of the webhook endpoint pointing here
    EXAMPLE_FROM_EMAIL       the sender (a verified identity)
    EXAMPLE_EVENTS_FILE      where the tracking receiver appends one JSON line per event"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("EXAMPLE_SECRET_KEY", "example-project-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["anymail", "tracking"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
DATABASES = {}
USE_TZ = True

EMAIL_BACKEND = "emailhub_client.anymail.EmailBackend"
ANYMAIL = {
    "EMAILHUB_API_URL": os.environ.get("EMAILHUB_API_URL", "http://127.0.0.1:8000"),
    "EMAILHUB_API_KEY": os.environ.get("EMAILHUB_API_KEY", ""),
    "EMAILHUB_WEBHOOK_SECRET": os.environ.get("EMAILHUB_WEBHOOK_SECRET", ""),
}
DEFAULT_FROM_EMAIL = os.environ.get("EXAMPLE_FROM_EMAIL", "no-reply@example.com")
EXAMPLE_EVENTS_FILE = os.environ.get("EXAMPLE_EVENTS_FILE", str(BASE_DIR / "events.jsonl"))

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING"}},
}
