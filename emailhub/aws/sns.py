"""SNS: the topic SES publishes delivery events to, feeding the events queue."""

import json

from botocore.exceptions import ClientError

from emailhub.aws.calls import call, error_message
from emailhub.errors import AwsUnavailable


def _sns(operation, **kwargs):
    try:
        return call("sns", operation, **kwargs)
    except ClientError as err:
        raise AwsUnavailable(f"SNS {operation}: {error_message(err)}") from err


def topic_ensure(name):
    """Create the topic (CreateTopic is idempotent); returns (arn, created)."""
    existing = {t["TopicArn"] for page in _topics() for t in page}
    arn = _sns("create_topic", Name=name)["TopicArn"]
    return arn, arn not in existing


def _topics():
    token = None
    while True:
        page = _sns("list_topics", **({"NextToken": token} if token else {}))
        yield page.get("Topics", [])
        token = page.get("NextToken")
        if not token:
            return


def queue_subscription_ensure(topic_arn, queue_arn):
    """Subscribe the queue to the topic; False when it already was."""
    subscriptions = _sns("list_subscriptions_by_topic", TopicArn=topic_arn).get("Subscriptions", [])
    if any(s["Endpoint"] == queue_arn and s["Protocol"] == "sqs" for s in subscriptions):
        return False
    _sns("subscribe", TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return True


def publish(topic_arn, message):
    return _sns("publish", TopicArn=topic_arn, Message=json.dumps(message))["MessageId"]


def topic_arn(name):
    return _sns("create_topic", Name=name)["TopicArn"]
