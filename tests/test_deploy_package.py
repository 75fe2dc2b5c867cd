"""The Lambda package, built as `make package STAGE=dev` builds it, unpacked and
run by a fresh interpreter that sees only the unpacked files: API Gateway
events for the API and the admin, an SQS event for the worker, and Zappa's
`manage` events, all against the local emulator.

The package is built once per test session (about half a minute)."""

import json
import zipfile

import pytest

from deploy import harness
from deploy.package import build, stage_settings

STAGE = "dev"
MIB = 1024 * 1024


@pytest.fixture(scope="session")
def package_zip():
    return build(STAGE, quiet=True)


@pytest.fixture(scope="session")
def task_dir(package_zip, tmp_path_factory):
    return harness.unpack(package_zip, tmp_path_factory.mktemp("var-task"))


def test_stage_settings_fit_lambda_sqs_and_api_gateway():
    from emailhub.bootstrap import OUTBOX_VISIBILITY_SECONDS
    from emailhub.stages import stage_config

    for stage in ("dev", "local", "production"):
        config = stage_settings(stage)
        assert config == {k: v for k, v in stage_config(stage).items() if k != "extends"}
        assert config["runtime"] == "python3.11"
        assert config["django_settings"] == "emailhub.settings"
        assert config["log_level"] == "INFO"  # DEBUG logs print signed request headers
        assert config["debug"] is False  # no tracebacks in HTTP responses
        assert config["use_precompiled_packages"] is False and config["slim_handler"] is False
        # One function serves API Gateway (29 s limit) and the worker.
        assert config["timeout_seconds"] < 29
        assert OUTBOX_VISIBILITY_SECONDS >= 6 * config["timeout_seconds"]
        assert int(config["environment_variables"]["EMAILHUB_CLAIM_LEASE_SECONDS"]) > config["timeout_seconds"]
        env = config["environment_variables"]
        sources = {event["function"]: event["event_source"] for event in config["events"] if "event_source" in event}
        # The scheduler's tick: a rule every minute, its handler in the package.
        assert {"function": "emailhub.worker.scheduler_handler", "expression": "rate(1 minute)"} in config["events"]
        assert set(sources) == {"emailhub.worker.outbox_handler", "emailhub.worker.events_handler",
                                "emailhub.worker.webhooks_handler"}
        # Batches, with partial batch failures reported (set by `bootstrap_aws --after-deploy`,
        # tests/test_alarms.py); a window over 0 is required above 10 records.
        assert all(source["batch_size"] <= 10 or source["batch_window"] >= 1 for source in sources.values())
        assert sources["emailhub.worker.outbox_handler"]["batch_size"] == 10
        assert sources["emailhub.worker.outbox_handler"]["arn"].endswith(":" + env["EMAILHUB_OUTBOX_QUEUE"])
        assert sources["emailhub.worker.events_handler"]["arn"].endswith(":" + env["EMAILHUB_EVENTS_QUEUE"])
        assert sources["emailhub.worker.webhooks_handler"]["arn"].endswith(":" + env["EMAILHUB_WEBHOOKS_QUEUE"])
        with open(config["attach_policy"]) as policy:
            assert "FullAccess" not in policy.read()
    assert stage_settings("local")["touch"] is False and stage_settings("local")["keep_warm"] is False


def test_package_is_lean_and_precompiled(package_zip):
    size = package_zip.stat().st_size
    assert size <= 15 * MIB, f"{size / MIB:.1f} MiB"
    with zipfile.ZipFile(package_zip) as archive:
        names = archive.namelist()
        tops = {name.split("/")[0] for name in names}
        for unwanted in ("tests", "clients", "benchmarks", "build", "deploy", ".venv", "moto", "pytest", "_pytest",
                         "sympy", "cfnlint", "troposphere", "pip", "setuptools", "zappa_settings.json",
                         "README.md", "Makefile", "db.sqlite3", "staticfiles", "psycopg", "psycopg_binary",
                         # clients/ is a package for Emailhub's callers, not part of the server
                         "emailhub_client", "anymail", "standardwebhooks"):
            assert unwanted not in tops, unwanted
        for wanted in ("handler.py", "zappa_settings.py", "manage.py", "emailhub", "dashboard", "django",
                       "boto3", "botocore", "storages", "pyotp", "segno"):
            assert wanted in tops, wanted
        # Zappa dates what it copies 1980-01-01: why the .pyc files must be hash-based.
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in archive.infolist() if i.filename.startswith("django/"))
        # Every module has a checked-hash .pyc: valid whatever the files' dates.
        pycs = set(n for n in names if n.endswith(".pyc"))
        sources = [n for n in names if n.endswith(".py") and "/migrations/" not in n]
        missing = [n for n in sources if _cached(n) not in pycs]
        assert not missing, missing[:20]
        for name in ("handler.py", "emailhub/api/__init__.py", "django/db/models/query.py"):
            header = archive.read(_cached(name))[:16]
            assert int.from_bytes(header[4:8], "little") == 0b11, name  # hash-based, checked
        settings_py = archive.read("zappa_settings.py").decode()
        # deploy/prebuild.py's one-line patch: the same signal, without importing django.test.
        assert "from django.core.signals import setting_changed" in archive.read("ninja/conf.py").decode()
    assert "DJANGO_SETTINGS='emailhub.settings'" in settings_py
    assert "LOG_LEVEL='INFO'" in settings_py and "DEBUG=False" in settings_py
    assert "arn:aws:sqs:us-east-1:123456789012:emailhub-dev-outbox" in settings_py


def _sign_in(lam, username, password):
    """The admin's login form through API Gateway events, as a browser fills it."""
    import re
    from urllib.parse import urlencode

    page = lam.invoke(harness.api_gateway_event("GET", "/admin/login/", stage=STAGE))["result"]
    cookies = [value.strip() for name, values in (page.get("multiValueHeaders") or {}).items()
               if name.lower() == "set-cookie" for value in values]
    csrf_cookie = next(c.split(";")[0] for c in cookies if c.startswith("csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page["body"]).group(1)
    body = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"})
    return lam.invoke(harness.api_gateway_event("POST", "/admin/login/", stage=STAGE, body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf_cookie,
        "Referer": f"https://{harness.API_HOST}/admin/login/"}))["result"]


def _cached(name):
    folder, _, leaf = name.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{leaf[:-3]}.cpython-311.pyc"


def test_unpacked_package_serves_the_api_the_admin_and_the_worker(task_dir, tmp_path):
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from emailhub.aws import sqs
    from emailhub.stages import stage_settings as stage_resources

    with harness.emulator() as endpoint:
        key = harness.stage_prepare(STAGE, endpoint)
        sent_before = len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)
        env = harness.lambda_environment(STAGE, endpoint, home=tmp_path)
        lam = harness.LambdaProcess(task_dir, env)
        try:
            accepted = lam.invoke(harness.send_email_event(STAGE, key, idempotency_key="order-1042"))
            assert accepted["ok"], accepted
            response = accepted["result"]
            assert response["statusCode"] == 202, response
            email_id = json.loads(response["body"])["id"]

            login = lam.invoke(harness.api_gateway_event("GET", "/admin/login/", stage=STAGE))["result"]
            assert login["statusCode"] == 200, login
            assert "csrfmiddlewaretoken" in login["body"]
            # Production security headers, and static files served from the S3 bucket.
            assert login["headers"]["Strict-Transport-Security"].startswith("max-age=31536000")
            assert "https://emailhub-dev-static-123456789012.s3.us-east-1.amazonaws.com/static/admin/" in login["body"]
            plain_http = harness.api_gateway_event("GET", "/admin/login/", stage=STAGE,
                                                   headers={"X-Forwarded-Proto": "http"})
            assert lam.invoke(plain_http)["result"]["statusCode"] == 301

            # The worker: the real message from the stage's outbox, as Lambda's SQS event.
            with stage_resources(STAGE, endpoint_url=endpoint):
                messages = sqs.receive("emailhub-dev-outbox", max_messages=10, wait_seconds=1)
                assert [json.loads(m["Body"])["email_id"] for m in messages] == [email_id]
                worked = lam.invoke(harness.sqs_event(STAGE, messages))
                assert worked["ok"], worked
                sqs.delete("emailhub-dev-outbox", [m["ReceiptHandle"] for m in messages])
            assert len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages) == sent_before + 1

            status = lam.invoke(harness.api_gateway_event(
                "GET", f"/emails/{email_id}", stage=STAGE, headers={"Authorization": f"Bearer {key}"}))["result"]
            assert status["statusCode"] == 200 and json.loads(status["body"])["status"] == "sent", status
        finally:
            report = lam.close()
            lam.kill()
    # Only the unpacked files and the standard library were imported...
    assert report["outside"] == [], report["outside"]
    # ...and not Django's test framework (django-ninja's settings module asked for it).
    assert not [m for m in report["imported"] if m.startswith("django/test/")]
    assert report["from_task"] > 300
    # ...and every module came from a valid checked-hash .pyc (no compiling at cold start).
    assert report["pyc_missing"] == [] and report["pyc_stale"] == [] and report["pyc_timestamp"] == [], report


def test_zappa_manage_runs_deploy_checks_and_collectstatic_to_s3(task_dir, tmp_path):
    from emailhub.aws.calls import call
    from emailhub.stages import stage_settings as stage_resources

    with harness.emulator() as endpoint:
        harness.stage_prepare(STAGE, endpoint)
        lam = harness.LambdaProcess(task_dir, harness.lambda_environment(STAGE, endpoint, home=tmp_path))
        try:
            # `zappa manage dev "check --deploy --fail-level WARNING"`, as Lambda runs it.
            checked = lam.invoke({"manage": "check --deploy --fail-level WARNING"})
            assert checked["ok"], checked
            # `zappa manage dev "collectstatic --noinput"`
            collected = lam.invoke({"manage": "collectstatic --noinput"})
            assert collected["ok"], collected
            # The first admin of a new deployment: `zappa manage dev "create_staff ops --role admin"`.
            created = lam.invoke({"manage": "create_staff ops --role admin"})
            assert created["ok"], created
            printed = [line.strip() for line in lam.log if line.strip()]
            assert "Created staff user ops (admin). Its password is shown only now:" in printed, printed[-5:]
            password = printed[printed.index("Created staff user ops (admin). Its password is shown only now:") + 1]
            signed_in = _sign_in(lam, "ops", password)
            assert signed_in["statusCode"] == 302 and signed_in["headers"]["Location"] == "/admin/", signed_in
        finally:
            lam.close()
            lam.kill()
        with stage_resources(STAGE, endpoint_url=endpoint):
            listed = call("s3", "list_objects_v2", Bucket="emailhub-dev-static-123456789012", Prefix="static/admin/css/")
            policy = json.loads(call("s3", "get_bucket_policy", Bucket="emailhub-dev-static-123456789012")["Policy"])
    assert "static/admin/css/base.css" in {o["Key"] for o in listed.get("Contents", [])}
    [statement] = policy["Statement"]
    assert statement["Action"] == "s3:GetObject" and statement["Resource"].endswith("/static/*")
    assert any("static files copied" in line for line in lam.log), lam.log[-5:]
