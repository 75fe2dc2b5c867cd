"""What the client's tests share: a client of the live local stack, unique
recipients (the emulator's state outlives a test), waiting for a status."""

import time
import uuid

import pytest

from emailhub_client import Emailhub
from tests.test_local_stack import local_stack  # noqa: F401 (a fixture, re-exported)


def recipient(kind="success"):
    """A mailbox simulator address no other test uses ("success+…" is delivered, needs no verifying)."""
    return f"{kind}+{uuid.uuid4().hex[:12]}@simulator.amazonses.com"


def sent_to(address):
    """How many times SES (the emulator, in this process) was asked to send to `address`."""
    from tests.conftest import ses_sent

    return sum(address in str(getattr(m, "destinations", "")) for m in ses_sent())


def wait_for(client, email_id, status, seconds=20):
    deadline = time.monotonic() + seconds
    while True:
        email = client.get(email_id)
        if email.status == status or time.monotonic() > deadline:
            assert email.status == status, f"{email_id} is {email.status}, not {status}: {email.events}"
            return email
        time.sleep(0.2)


@pytest.fixture
def hub(local_stack):  # noqa: F811
    base, key = local_stack
    client = Emailhub(api_key=key, base_url=base, timeout=10.0, max_retries=2)
    yield client
    client.close()
