"""Optional TOTP second factor (RFC 6238, pyotp): any authenticator app.

Enrolment shows a QR code drawn on the server (segno, inline SVG: no image
service ever sees the secret). A code is accepted once: the last time step
used is stored and a code from the same or an earlier step is refused, so a
code seen over a shoulder cannot be replayed.
"""

import time

import pyotp

from emailhub.audit import audit_record
from emailhub.staff import accounts

ISSUER = "Emailhub"


def mfa_secret_new():
    return pyotp.random_base32()


def mfa_qr_svg(*, secret, username):
    import segno

    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=True)  # viewBox: scales to its box


def _matching_step(secret, code, *, at=None):
    """The time step a code belongs to (the current one or either neighbour), or None."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = at or time.time()
    for offset in (0, -1, 1):
        if pyotp.utils.strings_equal(totp.at(int(now) + offset * totp.interval), code):
            return int(now) // totp.interval + offset
    return None


def mfa_verify(*, user, code):
    """Is `code` a fresh code of the user's second factor? Uses it up if so."""
    step = _matching_step(user.totp_secret, code) if user.totp_secret else None
    if step is None or step <= user.totp_last_step:
        return False
    if not accounts.staff_mfa_use_step(username=user.username, step=step):
        return False  # used a moment ago by another request
    user.totp_last_step = step
    return True


def mfa_enable(*, user, secret, code):
    """Turn the second factor on once the user shows a code from it."""
    step = _matching_step(secret, code)
    if step is None:
        return False
    accounts.staff_mfa_set(username=user.username, secret=secret, step=step)
    audit_record(actor=user.username, action="staff.mfa_enable", target=user.username, outcome="two-factor on")
    return True
