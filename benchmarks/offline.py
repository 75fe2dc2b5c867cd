"""The first step of every benchmark: offline, in-process, Django set up.

Fake credentials and no endpoint from the shell, before anything imports
boto3 or Django, so nothing can reach real AWS."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup():
    sys.path.insert(0, str(ROOT))
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "emailhub.settings"
    import django

    django.setup()
