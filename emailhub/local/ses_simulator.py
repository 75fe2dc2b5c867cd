"""Local mode's stand-in for SES event publishing.

The emulator sends nothing and publishes no events, so after each send this
publishes what real SES would to the configuration set's SNS topic, in the
same JSON shape, and the events then take the real path: SNS, the events
queue, the events worker. SES's mailbox-simulator addresses behave as they do
on AWS (and need no verification in the sandbox):

    success@simulator.amazonses.com         delivered
    bounce@simulator.amazonses.com          hard bounce  -> suppression list
    complaint@simulator.amazonses.com       delivered, then a complaint -> suppression list
    suppressionlist@simulator.amazonses.com hard bounce (on the account's suppression list)
    ooto@simulator.amazonses.com            delivered (the out-of-office reply is not an event)

Any other address is delivered. Off in production; EMAILHUB_SES_EVENT_SIMULATOR turns it off locally.

Two more addresses exist only here (on AWS they are not special): SES refuses
the send itself, as it refuses a message (MessageRejected), so the email
fails and is parked on the dead-letter queue, ready to be resent:

    reject@simulator.amazonses.com          refused on every send
    reject-once@simulator.amazonses.com     refused, then accepted on the next send (a resend), alternately"""

import functools
import logging
import threading
from email.utils import parseaddr

from django.conf import settings

from emailhub import model
from emailhub.aws import sns

SIMULATOR = "@simulator.amazonses.com"
REJECT, REJECT_ONCE = "reject" + SIMULATOR, "reject-once" + SIMULATOR
logger = logging.getLogger(__name__)
_refused_last = set()  # reject-once addresses whose last send was refused
_refusals_lock = threading.Lock()


def simulated_rejection(addresses):
    """The message local SES refuses this send with, or None (see above)."""
    for address in addresses:
        local = parseaddr(address)[1].lower()
        if local == REJECT:
            return f"Local SES simulator: {REJECT} is refused on every send."
        if local == REJECT_ONCE:
            with _refusals_lock:
                if local in _refused_last:
                    _refused_last.discard(local)
                    continue
                _refused_last.add(local)
            return f"Local SES simulator: {REJECT_ONCE} is refused this time; the next send goes through."
    return None


@functools.lru_cache(maxsize=8)
def _topic_arn(name, endpoint):
    return sns.topic_arn(name)


def _mail(*, message_id, sender, destination, subject, tags, configuration_set):
    tag_map = {"ses:configuration-set": [configuration_set]} if configuration_set else {}
    tag_map.update({name: [value] for name, value in (tags or {}).items()})
    return {
        "timestamp": model.iso(model.now()), "source": sender, "sendingAccountId": "000000000000",
        "messageId": message_id, "destination": destination, "headersTruncated": False,
        "headers": [], "commonHeaders": {"from": [sender], "to": destination, "subject": subject}, "tags": tag_map,
    }


def _outcomes(address):
    local = parseaddr(address)[1].lower()
    if local == "bounce" + SIMULATOR:
        return [("Bounce", {"bounceType": "Permanent", "bounceSubType": "General",
                            "diagnosticCode": "smtp; 550 5.1.1 user unknown"})]
    if local == "suppressionlist" + SIMULATOR:
        return [("Bounce", {"bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList",
                            "diagnosticCode": "Amazon SES did not send the message to this address because it is "
                                              "on the suppression list for your account."})]
    if local == "complaint" + SIMULATOR:
        return [("Delivery", {}), ("Complaint", {"complaintFeedbackType": "abuse"})]
    return [("Delivery", {})]


def _detail(kind, address, extra):
    now = model.iso(model.now())
    if kind == "Delivery":
        return {"delivery": {"timestamp": now, "processingTimeMillis": 120, "recipients": [address],
                             "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-70.smtp-out.local"}}
    if kind == "Bounce":
        return {"bounce": {"bounceType": extra["bounceType"], "bounceSubType": extra["bounceSubType"],
                           "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1",
                                                  "diagnosticCode": extra["diagnosticCode"]}],
                           "timestamp": now, "feedbackId": f"local-{model.new_email_id()}",
                           "reportingMTA": "dsn; a8-70.smtp-out.local"}}
    return {"complaint": {"complainedRecipients": [{"emailAddress": address}], "timestamp": now,
                          "feedbackId": f"local-{model.new_email_id()}", "userAgent": "Local simulator",
                          "complaintFeedbackType": extra["complaintFeedbackType"], "arrivalDate": now}}


# Real SES publishes events a moment after the send; so does the simulator, in
# the background, so that (as on AWS) the worker has recorded the SES message
# id before the events about it arrive.
DELAY_SECONDS = 0.5


def simulate_events(**send):
    timer = threading.Timer(DELAY_SECONDS, _publish_logged, kwargs=send)
    timer.daemon = True
    timer.start()
    return timer


def _publish_logged(**send):
    try:
        publish_events(**send)
    except Exception:  # noqa: BLE001 - a background thread has nobody to raise to
        logger.exception("The SES event simulator could not publish")


def publish_events(*, message_id, sender, to, cc, bcc, subject, tags, configuration_set):
    """Publish the Send event and each recipient's outcome, as SES would."""
    topic = _topic_arn(settings.EMAILHUB_EVENTS_TOPIC, settings.AWS_ENDPOINT_URL)
    recipients = [parseaddr(a)[1] for a in [*to, *cc, *bcc]]
    mail = _mail(message_id=message_id, sender=sender, destination=recipients, subject=subject, tags=tags,
                 configuration_set=configuration_set)
    sns.publish(topic, {"eventType": "Send", "mail": mail, "send": {}})
    for address in recipients:
        for kind, extra in _outcomes(address):
            sns.publish(topic, {"eventType": kind, "mail": mail, **_detail(kind, address, extra)})
