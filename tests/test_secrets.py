"""The stage's secrets come from AWS Secrets Manager at start-up (production
mode), and a secret that cannot be read stops the start with a clear message."""

import json
import os
import runpy
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from moto import mock_aws

from deploy import harness
from emailhub.aws import clients
from emailhub.aws.secrets import stage_secrets
from tests import aws_operations

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "k" * 60


@pytest.fixture
def secret_id():
    """A name of its own per test: moto's server shares its state with the tests' process."""
    return f"emailhub-test-{uuid.uuid4().hex[:8]}"


def _start_production(endpoint, secret_id, **env):
    """Start Django's settings in production mode in a fresh interpreter; what it printed."""
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    base.update(EMAILHUB_ENV="production", DJANGO_SETTINGS_MODULE="emailhub.settings",
                AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                AWS_REGION="us-east-1", EMAILHUB_STATIC_BUCKET="emailhub-test-static", EMAILHUB_SECRETS_ID=secret_id,
                **env)
    script = ("import django; django.setup(); from django.conf import settings as s; "
              "from django.db import connection; print(s.SECRET_KEY, connection.settings_dict['ENGINE'])")
    return subprocess.run([sys.executable, "-c", script], env=base, cwd=ROOT, capture_output=True, text=True)


def test_production_takes_the_key_from_the_stage_secret_and_has_no_database(settings, secret_id):
    with harness.emulator() as endpoint:
        settings.AWS_ENDPOINT_URL = endpoint  # the harness's own call, as the operator makes it
        harness.secret_put(secret_id, {"DJANGO_SECRET_KEY": SECRET_KEY})
        started = _start_production(endpoint, secret_id)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == [SECRET_KEY, "django.db.backends.dummy"]


def test_production_stops_naming_a_secret_it_cannot_read(secret_id):
    with harness.emulator() as endpoint:
        started = _start_production(endpoint, secret_id)
    assert started.returncode != 0
    assert f"Cannot read the stage's secrets {secret_id!r} from AWS Secrets Manager" in started.stderr
    assert "ResourceNotFoundException" in started.stderr


def test_a_secret_without_the_key_stops_the_start_whatever_the_environment_says(settings, secret_id):
    with harness.emulator() as endpoint:
        settings.AWS_ENDPOINT_URL = endpoint
        harness.secret_put(secret_id, {"SOMETHING_ELSE": "x"})
        started = _start_production(endpoint, secret_id, DJANGO_SECRET_KEY=SECRET_KEY)
    assert started.returncode != 0
    assert f"DJANGO_SECRET_KEY is not set in the stage's secret {secret_id!r}" in started.stderr


@pytest.mark.parametrize("text", ["not json", '["a list"]', '{"DJANGO_SECRET_KEY": 42}'])
def test_a_secret_that_is_not_a_json_object_of_strings_is_refused(text, secret_id):
    with mock_aws():
        clients.client("secretsmanager").create_secret(Name=secret_id, SecretString=text)
        with pytest.raises(ImproperlyConfigured, match="must be a JSON object of setting names to strings"):
            stage_secrets(secret_id, region="us-east-1")


def test_a_binary_secret_is_refused(secret_id):
    with mock_aws():
        clients.client("secretsmanager").create_secret(Name=secret_id, SecretBinary=b"\x00\x01")
        with pytest.raises(ImproperlyConfigured, match="holds binary data, not a JSON object"):
            stage_secrets(secret_id, region="us-east-1")


def test_the_settings_module_reads_the_secret_with_what_the_stage_policy_allows(monkeypatch, secret_id):
    """The settings module run in-process, so its Secrets Manager call is
    recorded as the application's and checked against the IAM policies."""
    values = {"DJANGO_SECRET_KEY": SECRET_KEY}
    for name, value in {"EMAILHUB_ENV": "production", "EMAILHUB_SECRETS_ID": secret_id,
                        "EMAILHUB_STATIC_BUCKET": "emailhub-test-static"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    read = ("app", "secretsmanager", "GetSecretValue", "secretsmanager:GetSecretValue")
    before = aws_operations.RECORDED[read]
    with mock_aws():
        clients.client("secretsmanager").create_secret(Name=secret_id, SecretString=json.dumps(values))
        production = runpy.run_path(str(ROOT / "emailhub" / "settings.py"))
    assert production["SECRET_KEY"] == SECRET_KEY
    assert production["DATABASES"] == {}
    assert aws_operations.RECORDED[read] == before + 1
