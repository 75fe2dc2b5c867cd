"""GET /health checks each AWS dependency."""


def test_health_is_ok_when_everything_answers(client, aws):
    response = client.get("/health")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert set(checks) == {"dynamodb", "outbox", "dead_letter_queue", "ses", "stuck_emails", "webhooks", "reputation"}
    assert checks["reputation"]["sending_paused"] is False and checks["reputation"]["sent"] == 0
    assert response.json()["status"] == "ok"
    assert all(check["ok"] for check in checks.values())


def test_health_is_503_naming_what_is_missing(client, aws):
    from emailhub.aws import clients, sqs

    clients.client("sqs").delete_queue(QueueUrl=sqs.queue_url("emailhub-dlq"))
    sqs.reset()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["dead_letter_queue"]["ok"] is False
    assert body["checks"]["dynamodb"]["ok"] is True


def test_health_is_503_when_aws_is_unreachable(client, settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    response = client.get("/health")
    assert response.status_code == 503
    assert not any(check["ok"] for check in response.json()["checks"].values())


def test_production_mode_refuses_to_start_without_a_secret():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env.update(EMAILHUB_ENV="production", DJANGO_SETTINGS_MODULE="emailhub.settings")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"],
                            env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
