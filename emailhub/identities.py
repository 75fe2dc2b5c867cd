"""SES identities and the sandbox rule: while the account is in the SES sandbox,
the sender and every recipient must be verified (the address, or its domain).

Verified identities are cached per process for EMAILHUB_IDENTITY_CACHE_SECONDS;
unverified answers are never cached, so an address verified a moment ago is
accepted on the next request."""

import threading
import time

from django.conf import settings

from emailhub.aws import ses
from emailhub.errors import UnverifiedIdentities

VERIFIED = "SUCCESS"
_verified_until = {}
_lock = threading.Lock()


def identity_is_verified(identity):
    identity = identity.lower()
    if _verified_until.get(identity, 0) > time.monotonic():
        return True
    if ses.identity_status(identity) != VERIFIED:
        return False
    with _lock:
        _verified_until[identity] = time.monotonic() + settings.EMAILHUB_IDENTITY_CACHE_SECONDS
    return True


def address_is_verified(address):
    domain = address.rsplit("@", 1)[-1]
    return identity_is_verified(address) or identity_is_verified(domain)


def identities_check_sandbox(*, addresses):
    """Raise UnverifiedIdentities naming every address SES would refuse."""
    if not settings.EMAILHUB_SES_SANDBOX:
        return
    unverified = {a for a in {a.lower() for a in addresses} if not address_is_verified(a)}
    if unverified:
        raise UnverifiedIdentities(unverified)


def identity_verify(*, identity):
    """Ask SES to verify an address or domain; returns its status afterwards."""
    return ses.identity_verify(identity.strip().lower())


def cache_clear():
    with _lock:
        _verified_until.clear()
