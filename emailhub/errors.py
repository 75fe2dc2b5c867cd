"""The project's own exceptions. Views map them to HTTP answers, the worker to
retry/park decisions, the dashboard to messages."""


class EmailhubError(Exception):
    code = "error"

    def __init__(self, message, *, code=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class AwsUnavailable(EmailhubError):
    """An AWS dependency could not be reached or answered with a server error."""

    code = "aws_unavailable"


class TransactionConflict(AwsUnavailable):
    """DynamoDB cancelled a transaction because another one touched the same
    item at that moment; trying again is the documented remedy."""

    code = "transaction_conflict"


class NotFound(EmailhubError):
    code = "not_found"


class Forbidden(EmailhubError):
    """The API key's scope does not allow the operation."""

    code = "insufficient_scope"


class ConditionFailed(EmailhubError):
    """A conditional write lost: the item was not in the expected state.
    For a transaction, `failed_indexes` says which of its operations failed."""

    code = "condition_failed"

    def __init__(self, message, *, failed_indexes=()):
        super().__init__(message)
        self.failed_indexes = set(failed_indexes)


class Suppressed(EmailhubError):
    """Recipients on the suppression list (hard bounces, complaints, staff)."""

    code = "suppressed_recipient"

    def __init__(self, addresses, *, field="to"):
        self.addresses = sorted(addresses)
        self.field = field
        super().__init__(
            "These recipients are on the suppression list (an earlier hard bounce or complaint, "
            "or staff): " + ", ".join(self.addresses) + ". Send without them, or remove them from "
            "the list if they should receive email again."
        )


class SendError(EmailhubError):
    """SES refused or failed a send. `kind` says what the worker does next:
    "transient" retries with backoff, "permanent" and "park" fail the email
    and park it in the dead-letter queue."""

    def __init__(self, message, *, code, kind):
        super().__init__(message, code=code)
        self.kind = kind


class UnverifiedIdentities(EmailhubError):
    """SES sandbox: addresses that must be verified before sending."""

    code = "unverified_identity"

    def __init__(self, addresses, *, field="to"):
        self.addresses = sorted(addresses)
        self.field = field
        super().__init__(
            "The SES sandbox only sends between verified identities. Verify "
            + ", ".join(self.addresses)
            + " (python manage.py verify_identity ADDRESS) or leave the sandbox."
        )


class IdempotencyConflict(EmailhubError):
    code = "idempotency_key_reused"


class EnqueueFailed(EmailhubError):
    code = "queue_unavailable"


class TooLarge(EmailhubError):
    """A request the pipeline cannot carry: SES's message size, DynamoDB's
    item size. `code` says which (message_too_large, item_too_large)."""


class EmailBusy(EmailhubError):
    """Another worker holds the email right now; try the message again later."""

    code = "email_busy"


class InvalidSchedule(EmailhubError):
    """A send_at or expires_at the API cannot take (in the past, too far ahead, ...)."""

    code = "invalid_datetime"

    def __init__(self, message, *, code=None, field=None):
        super().__init__(message, code=code)
        self.field = field


class StatusConflict(EmailhubError):
    """The email is no longer in a status that allows the change asked for
    (a cancel that lost the race to the worker, say). `status` is the one it has."""

    code = "status_conflict"

    def __init__(self, message, *, code=None, status=None):
        super().__init__(message, code=code)
        self.status = status
