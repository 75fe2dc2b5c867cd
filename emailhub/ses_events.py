"""SES delivery events: SES publishes them to SNS, SNS to the events queue,
the worker here. Each lands on its email's timeline (found by SES message id);
status moves forward only — sent, delivered, bounced, complained — so a late
or repeated event never undoes a later one. Hard bounces and complaints put
the address on the suppression list."""

import hashlib
import json
import logging

from emailhub import model
from emailhub.aws import dynamodb
from emailhub.emails import email_companions, email_get, email_status_changed, email_write_with_companions, event
from emailhub.errors import ConditionFailed, EmailhubError
from emailhub.reputation import bounce_domains_record
from emailhub.selectors import email_by_ses_message_id
from emailhub.stats import DELIVERY_OUTCOMES, stats_move
from emailhub.suppression import suppression_add
from emailhub.webhooks.events import DELIVERY_DELAYED

logger = logging.getLogger(__name__)

# An event moves the status only up this ladder.
RANK = {model.SENT: 1, model.DELIVERED: 2, model.BOUNCED: 3, model.COMPLAINED: 4}


class EventNotMatched(EmailhubError):
    """No email has this SES message id (yet): the event is tried again later,
    and ends in the events dead-letter queue if it never matches."""

    code = "event_not_matched"


EVENT_RETRY_MAX_SECONDS = 60


def event_retry_later(*, receipt_handle, receive_count, error):
    """An event that found no email yet (`EventNotMatched`: SES can publish
    before the worker has written the message id it answered with) comes
    back in EMAILHUB_EVENT_RETRY_SECONDS, doubling per receive up to a minute,
    instead of after the events queue's visibility timeout. Other errors
    keep the queue's timeout. Returns the delay set, or None."""
    from django.conf import settings

    from emailhub.aws import sqs

    if not isinstance(error, EventNotMatched) or not receipt_handle:
        return None
    delay = min(EVENT_RETRY_MAX_SECONDS, settings.EMAILHUB_EVENT_RETRY_SECONDS * 2 ** max(0, receive_count - 1))
    try:
        sqs.change_visibility(settings.EMAILHUB_EVENTS_QUEUE, receipt_handle, delay)
    except EmailhubError as err:
        logger.warning("Could not bring an early SES event back sooner (%s); it waits out the queue's timeout",
                       err.message)
        return None
    return delay


def notification_parse(body):
    """(dedupe id, SES event) from an events-queue message body: an SNS
    envelope, or the raw event when the subscription delivers raw."""
    data = json.loads(body)
    if data.get("Type") == "Notification" and "Message" in data:
        return data["MessageId"], json.loads(data["Message"])
    return hashlib.sha256(body.encode()).hexdigest(), data


def _bounce(detail):
    bounce = detail.get("bounce", {})
    recipients = [r.get("emailAddress", "") for r in bounce.get("bouncedRecipients", [])]
    diagnostics = "; ".join(r["diagnosticCode"] for r in bounce.get("bouncedRecipients", []) if r.get("diagnosticCode"))
    hard = bounce.get("bounceType") == "Permanent"
    timeline = {"bounce_type": bounce.get("bounceType"), "bounce_subtype": bounce.get("bounceSubType"),
                "recipients": recipients, "diagnostic": diagnostics or None}
    reason = f"hard bounce ({bounce.get('bounceSubType', 'General')}){': ' + diagnostics if diagnostics else ''}"
    return ("bounce" if hard else "soft_bounce"), timeline, (model.BOUNCED if hard else None), \
        ([(r, reason) for r in recipients] if hard else [])


def _complaint(detail):
    complaint = detail.get("complaint", {})
    recipients = [r.get("emailAddress", "") for r in complaint.get("complainedRecipients", [])]
    kind = complaint.get("complaintFeedbackType")
    return "complaint", {"recipients": recipients, "feedback_type": kind}, model.COMPLAINED, \
        [(r, f"complaint{' (' + kind + ')' if kind else ''}") for r in recipients]


def _delivery(detail):
    delivery = detail.get("delivery", {})
    return "delivery", {"recipients": delivery.get("recipients", []), "smtp_response": delivery.get("smtpResponse"),
                        "processing_ms": delivery.get("processingTimeMillis")}, model.DELIVERED, []


def _delay(detail):
    delay = detail.get("deliveryDelay", {})
    return "delivery_delay", {"delay_type": delay.get("delayType"),
                              "recipients": [r.get("emailAddress") for r in delay.get("delayedRecipients", [])],
                              "expires": delay.get("expirationTime")}, None, []


def _reject(detail):
    return "reject", {"reason": detail.get("reject", {}).get("reason")}, model.FAILED, []


def _rendering_failure(detail):
    return "rendering_failure", {"reason": detail.get("failure", {}).get("errorMessage")}, model.FAILED, []


HANDLERS = {
    "Send": lambda detail: ("ses_send", {}, None, []),
    "Delivery": _delivery,
    "Bounce": _bounce,
    "Complaint": _complaint,
    "DeliveryDelay": _delay,
    "Reject": _reject,
    "Rendering Failure": _rendering_failure,
    "RenderingFailure": _rendering_failure,
}


def ses_event_record(*, ses_event, dedupe_id):
    """Apply one SES event. Returns "recorded", "duplicate" or "ignored"."""
    kind = ses_event.get("eventType") or ses_event.get("notificationType")
    handler = HANDLERS.get(kind)
    if handler is None:
        logger.info("Ignoring SES event of type %r", kind)
        return "ignored"
    message_id = ses_event.get("mail", {}).get("messageId")
    email = email_by_ses_message_id(ses_message_id=message_id) if message_id else None
    if email is None:
        raise EventNotMatched(f"No email with SES message id {message_id!r} for a {kind} event.")
    timeline_type, details, status, suppress = handler(ses_event)
    if dedupe_id not in (email.get("event_ids") or set()):
        # Before the status: once an email shows `bounced`, its address is
        # refused, and a crash in between leaves the event to be delivered
        # again (adding is idempotent), never a recorded bounce unsuppressed.
        for address, reason in suppress:
            suppression_add(address=address, reason=reason, source_email_id=email["id"])
    outcome, moved = _apply(email, dedupe_id, timeline_type, details, status)
    if moved == model.BOUNCED:  # where it bounced, for the overview: once per email, after what protects
        bounce_domains_record(addresses=details.get("recipients") or ())
    return outcome


# The timeline event that moves an email into each delivery outcome.
_OUTCOME_EVENT = {model.DELIVERED: "delivery", model.BOUNCED: "bounce", model.COMPLAINED: "complaint"}


def _reached_at(email):
    """When the email reached its current delivery outcome (the first event
    of that kind on its timeline), or None."""
    wanted = _OUTCOME_EVENT.get(email["status"])
    return next((model.parse_iso(e["at"]) for e in email.get("events") or () if e.get("type") == wanted), None)


def _moves_to(current, wanted):
    if wanted == model.FAILED:  # a reject or rendering failure: SES did not send it after all
        return wanted if current == model.SENT else None
    if wanted and RANK.get(wanted, 0) > RANK.get(current, 99):
        return wanted
    return None


def _park(email_id):
    from emailhub.services import email_park

    email_park(email=email_get(email_id))


def _apply(email, dedupe_id, timeline_type, details, wanted, tries=3):
    """Append the event and move the status, atomically and at most once per
    event: the condition checks both the dedupe id and the status seen.
    Returns ("recorded" | "duplicate", the status moved to or None)."""
    for _ in range(tries):
        if dedupe_id in (email.get("event_ids") or set()):
            if email["status"] == model.FAILED and not email.get("dlq_message_id"):
                _park(email["id"])  # recorded before, but its park was interrupted
            return "duplicate", None
        moment = model.now()
        status = _moves_to(email["status"], wanted)
        names = {"#events": "events", "#status": "status"}
        values = {":events": [event(timeline_type, moment, **details)], ":empty": [], ":now": model.iso(moment),
                  ":ids": {dedupe_id}, ":id": dedupe_id, ":seen": email["status"]}
        sets = ["#events = list_append(if_not_exists(#events, :empty), :events)", "updated_at = :now"]
        if status:
            values.update({":to": status, ":email_status": model.sharded(status, email["id"])})
            sets += ["#status = :to", "email_status = :email_status"]
            if status == model.FAILED:
                values[":error"] = {"code": timeline_type, "message": details.get("reason") or timeline_type,
                                    "kind": "permanent", "at": model.iso(moment)}
                sets += ["last_error = :error", "failed_at = :now"]
        update = dynamodb.update_args(
            *model.email_key(email["id"]), expression="SET " + ", ".join(sets) + " ADD event_ids :ids",
            names=names, values=values,
            condition="attribute_exists(pk) AND #status = :seen AND "
                      "(attribute_not_exists(event_ids) OR NOT contains(event_ids, :id))",
        )
        try:
            if status and email.get("companions"):  # its small items carry the status too
                email_write_with_companions(update=update, email_id=email["id"], companions=email_companions(email),
                                            status=status)
            else:
                # A status move seeing no small items: a back-fill giving it some meanwhile makes this look again.
                unchanged = " AND attribute_not_exists(companions)" if status else ""
                dynamodb.update(*model.email_key(email["id"]), expression=update["UpdateExpression"],
                                names=names, values=values, condition=update["ConditionExpression"] + unchanged)
        except ConditionFailed:
            email = email_get(email["id"])  # changed meanwhile: look again
            continue
        if status:
            email_status_changed(email_id=email["id"], status=status, timeline_event=values[":events"][0])
        elif timeline_type == "delivery_delay":
            email_status_changed(email_id=email["id"], status=email["status"], timeline_event=values[":events"][0],
                                 event_type=DELIVERY_DELAYED)
        if status in DELIVERY_OUTCOMES:  # counted once per email, on its move only
            stats_move(outcome=status, previous=email["status"], previous_moment=_reached_at(email), moment=moment)
        if status == model.FAILED:
            _park(email["id"])
        return "recorded", status
    raise EmailhubError(f"Email {email['id']} kept changing while recording a {timeline_type} event.")
