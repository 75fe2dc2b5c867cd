"""Email address parsing: "alice@example.com" or "Alice <alice@example.com>".

Syntax is checked by email-validator, never with DNS at request time."""

import re
from functools import lru_cache
from dataclasses import dataclass
from email.headerregistry import Address

from email_validator import EmailNotValidError, validate_email

_NAMED = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<addr>[^<>]+)>\s*$")


class InvalidAddress(ValueError):
    pass


@dataclass(frozen=True)
class Mailbox:
    address: str
    name: str = ""

    def __str__(self):
        if not self.name:
            return self.address
        return str(Address(display_name=self.name, addr_spec=self.address))


def has_line_break(value):
    return "\r" in value or "\n" in value


def parse_mailbox(value):
    # Checked before the cache: a JSON object or list given as an address
    # cannot be hashed, and must be refused as an address, not crash.
    if not isinstance(value, str) or not value.strip():
        raise InvalidAddress("an email address (a string) is required")
    return _parse_mailbox(value)


@lru_cache(maxsize=4096)  # pure, and called several times per email on the send path
def _parse_mailbox(value):
    match = _NAMED.match(value)
    name, address = (match["name"].strip().strip('"'), match["addr"]) if match else ("", value.strip())
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as err:
        raise InvalidAddress(f"{address!r} is not a valid email address: {err}") from err
    return Mailbox(address=checked.normalized, name=name)
