"""Create every AWS resource Emailhub needs, idempotently."""

import json

from django.conf import settings

from emailhub import model
from emailhub.addresses import parse_mailbox
from emailhub.aws import dynamodb, s3, ses, sns, sqs
from emailhub.aws.secrets import secret_ensure

DAY = 24 * 60 * 60
# SQS's default maximum; set explicitly so no deployment depends on a default.
MAX_MESSAGE_BYTES = 256 * 1024
OUTBOX_RETENTION = 4 * DAY
DLQ_RETENTION = 14 * DAY  # SQS's maximum, and longer than the outbox's
# Messages that crash the worker this many times land in the DLQ by redrive.
MAX_RECEIVES = 5
# At least 6x the worker's timeout (timeout_seconds, 28 s, in
# zappa_settings.json), as AWS advises for Lambda event sources.
OUTBOX_VISIBILITY_SECONDS = 180
# The events worker has the same Lambda timeout: the same 6x rule. (An event
# that arrives before its email's SES message id is recorded, which the worker
# writes right after SES answers, is made visible again within seconds instead:
# ses_events.event_retry_later.)
EVENTS_VISIBILITY_SECONDS = OUTBOX_VISIBILITY_SECONDS


def aws_resources_ensure():
    """Returns [(resource, "created" | "updated" | "exists" | detail)]."""
    results = [
        (f"DynamoDB table {settings.EMAILHUB_TABLE}", dynamodb.table_ensure(
            model.table_spec(settings.EMAILHUB_TABLE), retired_indexes=model.RETIRED_INDEXES)),
        (f"SQS queue {settings.EMAILHUB_DLQ}", sqs.queue_ensure(settings.EMAILHUB_DLQ, {
            "MessageRetentionPeriod": str(DLQ_RETENTION),
            "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
        })),
    ]
    results.append((f"SQS queue {settings.EMAILHUB_OUTBOX_QUEUE}", sqs.queue_ensure(settings.EMAILHUB_OUTBOX_QUEUE, {
        "MessageRetentionPeriod": str(OUTBOX_RETENTION),
        "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
        "VisibilityTimeout": str(OUTBOX_VISIBILITY_SECONDS),
        "RedrivePolicy": json.dumps({
            "deadLetterTargetArn": sqs.queue_arn(settings.EMAILHUB_DLQ), "maxReceiveCount": str(MAX_RECEIVES),
        }),
    })))
    results.append((f"S3 bucket {settings.EMAILHUB_PAYLOAD_BUCKET}",
                    "created" if s3.bucket_ensure(
                        settings.EMAILHUB_PAYLOAD_BUCKET,
                        # a day past the email items' TTL, so no item points at a deleted payload
                        expire_days=settings.EMAILHUB_RETENTION_DAYS + 1) else "exists"))
    # Deployed stages only (bootstrap_aws --stage): the admin's static files
    # and the bucket Zappa uploads packages to.
    for label, name, public in (("static files", getattr(settings, "EMAILHUB_STATIC_BUCKET", None), True),
                                ("Zappa packages", getattr(settings, "EMAILHUB_ZAPPA_BUCKET", None), False)):
        if name:
            results.append((f"S3 bucket {name} ({label})", s3.bucket_ensure_for(name, public_prefix="static/" if public else None)))
    config_set = settings.EMAILHUB_SES_CONFIGURATION_SET
    results.append((f"SES configuration set {config_set}",
                    "created" if ses.configuration_set_ensure(config_set) else "exists"))
    results += _events_pipeline()
    sender = parse_mailbox(settings.EMAILHUB_DEFAULT_FROM).address
    results.append((f"SES identity {sender}", _identity(sender)))
    if settings.EMAILHUB_SECRETS_ID:  # deployed stages
        results.append((f"Secrets Manager secret {settings.EMAILHUB_SECRETS_ID}",
                        secret_ensure(settings.EMAILHUB_SECRETS_ID)))
    return results


def _events_pipeline():
    """SES configuration set -> SNS topic -> SQS events queue (with its own DLQ)."""
    topic, topic_created = sns.topic_ensure(settings.EMAILHUB_EVENTS_TOPIC)
    results = [(f"SNS topic {settings.EMAILHUB_EVENTS_TOPIC}", "created" if topic_created else "exists")]
    results.append((f"SQS queue {settings.EMAILHUB_EVENTS_DLQ}", sqs.queue_ensure(settings.EMAILHUB_EVENTS_DLQ, {
        "MessageRetentionPeriod": str(DLQ_RETENTION), "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
    })))
    queue = settings.EMAILHUB_EVENTS_QUEUE
    results.append((f"SQS queue {queue}", sqs.queue_ensure(queue, {
        "MessageRetentionPeriod": str(OUTBOX_RETENTION),
        "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
        "VisibilityTimeout": str(EVENTS_VISIBILITY_SECONDS),
        "RedrivePolicy": json.dumps({
            "deadLetterTargetArn": sqs.queue_arn(settings.EMAILHUB_EVENTS_DLQ), "maxReceiveCount": str(MAX_RECEIVES),
        }),
    })))
    queue_arn = sqs.queue_arn(queue)
    # The queue must let the topic deliver to it.
    sqs.queue_ensure(queue, {"Policy": json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                       "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}],
    })})
    results.append((f"SNS subscription {settings.EMAILHUB_EVENTS_TOPIC} -> {queue}",
                    "created" if sns.queue_subscription_ensure(topic, queue_arn) else "exists"))
    config_set = settings.EMAILHUB_SES_CONFIGURATION_SET
    results.append((f"SES event destination {config_set} -> {settings.EMAILHUB_EVENTS_TOPIC}",
                    "created" if ses.event_destination_ensure(
                        configuration_set=config_set, name="emailhub-events", topic_arn=topic) else "exists"))
    return results


def _identity(address):
    before = ses.identity_status(address)
    if before == "SUCCESS":
        return "exists"
    after = ses.identity_verify(address)
    return "created" if after == "SUCCESS" else f"verification {after or 'requested'}: SES mailed a link to {address}"
