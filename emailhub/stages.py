"""A deployment stage's resource names, read from zappa_settings.json, for the
commands an operator runs from their own machine (`bootstrap_aws --stage`).

zappa_settings.json is not in the Lambda package: nothing here runs in Lambda."""

import json
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

# The stage environment variables that name AWS resources, as settings.
RESOURCE_SETTINGS = (
    "EMAILHUB_TABLE", "EMAILHUB_OUTBOX_QUEUE", "EMAILHUB_DLQ", "EMAILHUB_PAYLOAD_BUCKET",
    "EMAILHUB_EVENTS_TOPIC", "EMAILHUB_EVENTS_QUEUE", "EMAILHUB_EVENTS_DLQ",
    "EMAILHUB_WEBHOOKS_QUEUE", "EMAILHUB_WEBHOOKS_DLQ",
    "EMAILHUB_STATIC_BUCKET", "EMAILHUB_SES_CONFIGURATION_SET", "EMAILHUB_DEFAULT_FROM",
    "EMAILHUB_SECRETS_ID",
)
# The stage's settings the alarms read (bootstrap_aws --stage), with their types.
ALARM_SETTINGS = {"EMAILHUB_BOUNCE_GUARD": float, "EMAILHUB_COMPLAINT_GUARD": float, "EMAILHUB_GUARD_MIN_SENT": int,
                  "EMAILHUB_ALARM_OUTBOX_AGE_SECONDS": int}


def stage_config(stage, path=None):
    """The stage's Zappa settings, with `extends` followed."""
    path = path or settings.BASE_DIR / "zappa_settings.json"
    try:
        stages = json.loads(open(path, encoding="utf-8").read())
    except FileNotFoundError as err:
        raise ImproperlyConfigured(f"{path} not found: --stage needs the project's zappa_settings.json") from err
    merged, seen = {}, set()
    while stage:
        if stage not in stages or stage in seen:
            raise ImproperlyConfigured(f"zappa_settings.json has no stage {stage!r} "
                                       f"(stages: {', '.join(sorted(stages))})")
        seen.add(stage)
        merged = {**stages[stage], **merged}
        stage = stages[stage].get("extends")
    return merged


@contextmanager
def stage_settings(stage, *, endpoint_url=None, path=None):
    """Settings pointing at the stage's resources: real AWS in the stage's
    region, or the emulator at `endpoint_url`."""
    config = stage_config(stage, path)
    variables = config.get("environment_variables", {})
    overrides = {name: variables[name] for name in RESOURCE_SETTINGS if variables.get(name)}
    overrides.update({name: kind(variables[name]) for name, kind in ALARM_SETTINGS.items() if variables.get(name)})
    overrides["AWS_REGION"] = config.get("aws_region", settings.AWS_REGION)
    overrides["AWS_ENDPOINT_URL"] = endpoint_url or None
    overrides["EMAILHUB_ZAPPA_BUCKET"] = config.get("s3_bucket")
    from emailhub.aws import clients, sqs

    clients.reset()
    sqs.reset()
    try:
        with override_settings(**overrides):
            yield config
    finally:
        clients.reset()
        sqs.reset()
