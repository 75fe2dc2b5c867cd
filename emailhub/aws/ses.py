"""Amazon SES (API v2): sending, identities, quota.

Every SES failure leaves this module as a SendError whose `kind` comes from the
explicit table below, so the worker never guesses what an error means.
"""

import time

from botocore.exceptions import ClientError, EndpointConnectionError
from django.conf import settings

from emailhub.aws.calls import call, error_code, error_message, is_server_error
from emailhub.errors import AwsUnavailable, SendError
from emailhub.metrics import metric_value

TRANSIENT = "transient"  # retry with backoff
PERMANENT = "permanent"  # fail and park: sending again cannot help
PARK = "park"            # fail and park: the account cannot send now; a human decides
QUOTA = "quota"          # the 24-hour quota is used up: defer without burning an attempt
UNKNOWN = "unknown"      # no answer after the request went out: SES may have sent it; a human decides

SEND_ERROR_KINDS = {
    # Throttling and server-side trouble: the same request can succeed later.
    "Throttling": TRANSIENT,
    "ThrottlingException": TRANSIENT,
    "TooManyRequestsException": TRANSIENT,
    "ServiceUnavailable": TRANSIENT,
    "ServiceUnavailableException": TRANSIENT,
    "InternalFailure": TRANSIENT,
    "InternalServerError": TRANSIENT,
    "InternalServiceErrorException": TRANSIENT,
    "RequestTimeout": TRANSIENT,
    "RequestTimeoutException": TRANSIENT,
    # The day's sending quota is used up: it frees up as the 24-hour window moves.
    "LimitExceededException": QUOTA,
    # The account cannot send (paused, suspended): a human must act.
    "SendingPausedException": PARK,
    "AccountSendingPausedException": PARK,
    "AccountSuspendedException": PARK,
    # The message itself is unacceptable.
    "MessageRejected": PERMANENT,
    "MessageRejectedException": PERMANENT,
    "MailFromDomainNotVerifiedException": PERMANENT,
    "MailFromDomainNotVerified": PERMANENT,
    "BadRequestException": PERMANENT,
    "InvalidParameterValue": PERMANENT,
    "NotFoundException": PERMANENT,
    "ConfigurationSetDoesNotExist": PERMANENT,
}


def classify(err):
    """The kind of a ClientError raised by a send."""
    if "daily message quota exceeded" in error_message(err).lower():
        return QUOTA  # SES API v1 reports the daily quota as Throttling
    kind = SEND_ERROR_KINDS.get(error_code(err))
    if kind:
        return kind
    return TRANSIENT if is_server_error(err) else PERMANENT


def send(*, sender, to, cc, bcc, reply_to, subject, text, html, tags, raw, configuration_set):
    """Send one email; returns the SES message id. `raw` (bytes of a MIME
    message) replaces the simple content when given."""
    if raw is not None:
        content = {"Raw": {"Data": raw}}
    else:
        body = {}
        if text:
            body["Text"] = {"Data": text, "Charset": "UTF-8"}
        if html:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        content = {"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body}}
    kwargs = {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": to, "CcAddresses": cc, "BccAddresses": bcc},
        "Content": content,
    }
    if reply_to:
        kwargs["ReplyToAddresses"] = reply_to
    if tags:
        kwargs["EmailTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
    if configuration_set:
        kwargs["ConfigurationSetName"] = configuration_set
    if settings.EMAILHUB_SES_EVENT_SIMULATOR and not settings.PRODUCTION:
        # Local mode only: the simulator's reject addresses (see local/ses_simulator.py).
        from emailhub.local.ses_simulator import simulated_rejection

        refused = simulated_rejection([*to, *cc, *bcc])
        if refused:
            raise SendError(refused, code="MessageRejected", kind=SEND_ERROR_KINDS["MessageRejected"])
    started = time.monotonic()
    try:
        message_id = call("sesv2", "send_email", **kwargs)["MessageId"]
    except ClientError as err:
        raise SendError(error_message(err), code=error_code(err), kind=classify(err)) from err
    except AwsUnavailable as err:
        if isinstance(err.__cause__, EndpointConnectionError):  # includes ConnectTimeoutError
            # The request never reached SES: safe to send again.
            raise SendError(err.message, code=type(err.__cause__).__name__, kind=TRANSIENT) from err
        # A read timeout or a dropped connection after the request went out: SES
        # may have sent it, and sending again could deliver it twice.
        raise SendError(f"No answer from SES after the request was sent ({err.message}); it may or may not "
                        "have been sent. Check with the recipient before resending.",
                        code="outcome_unknown", kind=UNKNOWN) from err
    finally:
        metric_value("SesLatency", round((time.monotonic() - started) * 1000, 1))
    if settings.EMAILHUB_SES_EVENT_SIMULATOR:
        # Local mode only: publish the events real SES would (see local/ses_simulator.py).
        from emailhub.local.ses_simulator import simulate_events

        simulate_events(message_id=message_id, sender=sender, to=to, cc=cc, bcc=bcc, subject=subject,
                        tags=tags, configuration_set=configuration_set)
    return message_id


def _ses(operation, **kwargs):
    try:
        return call("sesv2", operation, **kwargs)
    except ClientError as err:
        if error_code(err) == "NotFoundException":
            return None
        raise AwsUnavailable(f"SES {operation}: {error_code(err)} {error_message(err)}") from err


def identity_status(identity):
    """SES verification status of an address or domain ("SUCCESS", "PENDING",
    "FAILED", ...), or None when SES does not know it."""
    found = _ses("get_email_identity", EmailIdentity=identity)
    return found.get("VerificationStatus") if found else None


def identity_get(identity):
    """SES's GetEmailIdentity answer (DkimAttributes with its Tokens,
    MailFromAttributes, VerificationStatus, ...), or None when SES does not know it."""
    return _ses("get_email_identity", EmailIdentity=identity)


def identity_verify(identity):
    """Start verification (SES mails the address a link; an emulator verifies at once).
    Returns the status afterwards."""
    try:
        call("sesv2", "create_email_identity", EmailIdentity=identity)
    except ClientError as err:
        if error_code(err) != "AlreadyExistsException":
            raise AwsUnavailable(f"SES create_email_identity: {error_message(err)}") from err
    return identity_status(identity)


def identities():
    """Every identity with its status, following pagination."""
    found, token = [], None
    while True:
        kwargs = {"PageSize": 1000}
        if token:
            kwargs["NextToken"] = token
        page = _ses("list_email_identities", **kwargs) or {}
        found.extend(page.get("EmailIdentities", []))
        token = page.get("NextToken")
        if not token:
            return found


def configuration_set_ensure(name):
    """Create the configuration set; False when it already existed."""
    if _ses("get_configuration_set", ConfigurationSetName=name) is not None:
        return False
    try:
        call("sesv2", "create_configuration_set", ConfigurationSetName=name)
    except ClientError as err:
        raise AwsUnavailable(f"SES create_configuration_set: {error_message(err)}") from err
    return True


def send_quota():
    """24-hour quota and max send rate (SES API v1: v2's GetAccount carries the same)."""
    try:
        return call("ses", "get_send_quota")
    except ClientError as err:
        raise AwsUnavailable(f"SES get_send_quota: {error_message(err)}") from err



EVENT_TYPES = ["send", "reject", "bounce", "complaint", "delivery", "renderingFailure", "deliveryDelay"]


def event_destination_ensure(*, configuration_set, name, topic_arn):
    """Publish the configuration set's events to the SNS topic; False when it
    already did. (SES API v1: the same configuration set as v2's.)"""
    try:
        described = call("ses", "describe_configuration_set", ConfigurationSetName=configuration_set,
                         ConfigurationSetAttributeNames=["eventDestinations"])
    except ClientError as err:
        raise AwsUnavailable(f"SES describe_configuration_set: {error_message(err)}") from err
    if any(d and d.get("Name") == name for d in described.get("EventDestinations", [])):
        return False
    try:
        call("ses", "create_configuration_set_event_destination", ConfigurationSetName=configuration_set,
             EventDestination={"Name": name, "Enabled": True, "MatchingEventTypes": EVENT_TYPES,
                               "SNSDestination": {"TopicARN": topic_arn}})
    except ClientError as err:
        raise AwsUnavailable(f"SES create_configuration_set_event_destination: {error_message(err)}") from err
    return True
