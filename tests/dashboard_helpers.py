"""Helpers for the dashboard tests: failed emails made the real way."""

from tests.conftest import drain_outbox, message


def failed_emails(send, ses_failures, count, **overrides):
    """`count` emails that SES rejects: accepted by the API, failed by the worker, parked."""
    drain_outbox()  # earlier emails must not take the injected failures
    ids = []
    for n in range(count):
        ses_failures("MessageRejected", f"rejected #{n}")
        ids.append(send(message(subject=f"Order {n}", **overrides)).json()["id"])
    drain_outbox(rounds=count + 5)
    return ids
