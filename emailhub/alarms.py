"""The stage's CloudWatch alarms, all sending to one SNS topic that staff
subscribe an address to (README, "Alarms").

- each dead-letter queue holding anything (an email or an SES event a human must look at);
- the outbox's oldest message older than EMAILHUB_ALARM_OUTBOX_AGE_SECONDS
  (SQS's own metric: it rises even when no worker runs at all);
- the bounce and complaint rates over the last day, from the EMF counts
  (emailhub/metrics.py), past the reputation guard's thresholds once
  EMAILHUB_GUARD_MIN_SENT emails were sent;
- the function's errors (an invocation that crashed)."""

from django.conf import settings

from emailhub.metrics import NAMESPACE

FIVE_MINUTES = 300
DAY = 24 * 60 * 60


def alarms_topic_name(function):
    return f"{function}-alarms"


def _simple(name, description, *, namespace, metric, dimensions, statistic, threshold, period=FIVE_MINUTES):
    return {
        "AlarmName": name, "AlarmDescription": description, "Namespace": namespace, "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()], "Statistic": statistic,
        "Period": period, "EvaluationPeriods": 1, "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
    }


def _rate(name, description, *, function, metric, threshold):
    """`metric` per email sent, in percent, over a day, once the volume is there."""
    def count(id_, metric_name):
        return {"Id": id_, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": NAMESPACE, "MetricName": metric_name,
                       "Dimensions": [{"Name": "Function", "Value": function}]},
            "Period": DAY, "Stat": "Sum"}}

    return {
        "AlarmName": name, "AlarmDescription": description, "EvaluationPeriods": 1, "Threshold": threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        "Metrics": [count("events", metric), count("sent", "Sent"),
                    {"Id": "rate", "ReturnData": True, "Label": f"{metric} per 100 sent",
                     "Expression": f"IF(sent >= {settings.EMAILHUB_GUARD_MIN_SENT}, 100 * events / sent, 0)"}],
    }


def alarm_specs(function):
    """PutMetricAlarm arguments (without actions) for the stage whose Lambda is `function`."""
    parked = [(settings.EMAILHUB_DLQ, "emails or SES events", "Dead-letter queue"),
              (settings.EMAILHUB_EVENTS_DLQ, "emails or SES events", "Dead-letter queue"),
              (settings.EMAILHUB_WEBHOOKS_DLQ, "webhook deliveries", "Webhooks")]
    specs = [_simple(f"{function}-dlq-{queue}", f"{queue} holds messages: {what} a human must "
                     f"look at (dashboard, {page}).", namespace="AWS/SQS",
                     metric="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": queue},
                     statistic="Maximum", threshold=0)
             for queue, what, page in parked]
    specs.append(_simple(
        f"{function}-outbox-age", "The outbox's oldest message has waited too long: the worker is not keeping "
        "up, or not running.", namespace="AWS/SQS", metric="ApproximateAgeOfOldestMessage",
        dimensions={"QueueName": settings.EMAILHUB_OUTBOX_QUEUE}, statistic="Maximum",
        threshold=settings.EMAILHUB_ALARM_OUTBOX_AGE_SECONDS))
    specs.append(_rate(f"{function}-bounce-rate", "Bounce rate over the last day at the reputation guard "
                       "(SES reviews an account at 5 %).", function=function, metric="Bounced",
                       threshold=settings.EMAILHUB_BOUNCE_GUARD))
    specs.append(_rate(f"{function}-complaint-rate", "Complaint rate over the last day at the reputation guard "
                       "(SES reviews an account at 0.1 %).", function=function, metric="Complained",
                       threshold=settings.EMAILHUB_COMPLAINT_GUARD))
    specs.append(_simple(f"{function}-errors", "Invocations of the function ended in an error.",
                         namespace="AWS/Lambda", metric="Errors", dimensions={"FunctionName": function},
                         statistic="Sum", threshold=0))
    return specs
