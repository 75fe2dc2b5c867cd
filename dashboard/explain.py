"""Error codes in plain words, for staff reading an email's last error."""

PLAIN = {
    "MessageRejected": "SES refused the message. Usually an unverified sender or recipient in the sandbox, "
                       "or content SES will not send (a virus in an attachment, a forbidden file type).",
    "MailFromDomainNotVerifiedException": "The MAIL FROM domain is not verified in SES.",
    "attempts_exhausted": "SES kept failing with temporary errors (throttling or outages) until every "
                          "attempt was used. Resending later usually works.",
    "outcome_unknown": "The worker stopped in the middle of sending, so SES may or may not have sent it. "
                       "Check with the recipient before resending, or they may get it twice.",
    "LimitExceededException": "The account's 24-hour sending quota was used up. Resend once the quota "
                              "resets, or ask AWS for a higher quota.",
    "SendingPausedException": "Sending is paused for this account or configuration set (often after "
                              "too many bounces or complaints). Fix the cause in SES, then resend.",
    "AccountSuspendedException": "AWS suspended sending for this account. Contact AWS support.",
    "invalid_message": "The stored request could not be turned into an email.",
    "TooManyRequestsException": "SES throttled the send (too many per second).",
    "NotFoundException": "A resource the send names (such as the configuration set) does not exist in SES.",
    "BadRequestException": "SES said the request was malformed.",
}


def explain(error):
    if not error:
        return ""
    return PLAIN.get(error.get("code"), "SES or the worker reported this error.")
