"""SES identities and the sandbox rule: while the account is in the SES sandbox,
the sender and every recipient must be verified (the address, or its domain).

Verified identities are cached per process for EMAILHUB_IDENTITY_CACHE_SECONDS;
unverified answers are never cached, so an address verified a moment ago is
accepted on the next request."""

import re
import threading
import time
from datetime import timedelta

from django.conf import settings

from emailhub import model
from emailhub.addresses import InvalidAddress, parse_mailbox
from emailhub.aws import dynamodb, ses
from emailhub.errors import UnverifiedIdentities

VERIFIED = "SUCCESS"
REJECTED_FEED = "REJECTED"
REJECTION_DAYS = 30  # refused addresses are listed for this long after the last refusal
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


# SES's mailbox simulator: usable from the sandbox without verification.
SIMULATOR_DOMAIN = "simulator.amazonses.com"


def unverified_addresses(addresses):
    """The addresses SES would refuse (none outside the sandbox), sorted."""
    if not settings.EMAILHUB_SES_SANDBOX:
        return []
    candidates = {parse_mailbox(a).address.lower() for a in addresses}
    return sorted(a for a in candidates if not a.endswith("@" + SIMULATOR_DOMAIN) and not address_is_verified(a))


def identities_check_sandbox(*, sender, recipients, fields=None):
    """Raise UnverifiedIdentities naming every address SES would refuse, and
    remember them so staff can see which addresses need verifying. `fields`
    says which request field each recipient came from (address -> "to", "cc"
    or "bcc"): the error names the field of the first address refused."""
    unverified = unverified_addresses([sender, *recipients])
    if unverified:
        _record_rejections(unverified)
        fields = {a.lower(): f for a, f in (fields or {}).items()}
        refused = ["from"] if sender.lower() in unverified else [
            fields.get(a.lower(), "to") for a in recipients if a.lower() in unverified]
        raise UnverifiedIdentities(unverified, field=refused[0])


def _record_rejections(addresses):
    moment = model.now()
    expires = model.epoch(moment + timedelta(days=REJECTION_DAYS))
    for address in addresses:
        dynamodb.update(
            f"REJECTED#{address}", "REJECTED",
            expression="SET address = :a, feed = :feed, created_at = :now, expires_at = :expires ADD rejections :one",
            values={":a": address, ":feed": REJECTED_FEED, ":now": model.iso(moment), ":expires": expires, ":one": 1},
        )


def rejected_addresses(*, limit=50):
    """Addresses requests were refused for (sandbox) and that are still not
    verified, by address or domain, most recent first."""
    items, _ = dynamodb.query(index=model.FEED_INDEX, key_condition="feed = :feed",
                              values={":feed": REJECTED_FEED}, limit=limit)
    found = dynamodb.batch_get([(i["pk"], i["sk"]) for i in items])
    rows = [found[i["pk"]] for i in items if i["pk"] in found]
    return [row for row in rows if not address_is_verified(row["address"])]


def identities_list():
    """Every SES identity with its status, plus whether it can send now."""
    return sorted(
        ({"identity": i["IdentityName"], "type": i.get("IdentityType", ""),
          "status": i.get("VerificationStatus", ""), "verified": i.get("VerificationStatus") == VERIFIED}
         for i in ses.identities()),
        key=lambda i: i["identity"],
    )


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class InvalidIdentity(ValueError):
    pass


def identity_normalize(identity):
    """An email address or a domain name, lower-cased; InvalidIdentity otherwise."""
    value = (identity or "").strip().lower()
    if "@" in value:
        try:
            return parse_mailbox(value).address.lower()
        except InvalidAddress as err:
            raise InvalidIdentity(str(err)) from err
    if not _DOMAIN.match(value):
        raise InvalidIdentity(f"{identity!r} is neither an email address nor a domain such as example.com.")
    return value


def identity_verify(*, identity):
    """Ask SES to verify an address or domain; returns its status afterwards."""
    return ses.identity_verify(identity_normalize(identity))


def identity_dns_records(*, identity):
    """The DNS records a domain identity needs, each with the status SES reports
    for it now: Easy DKIM's three CNAMEs, the custom MAIL FROM domain's MX and
    SPF records when one is configured, and a suggested DMARC record (SES does
    not check DMARC). None when SES does not know the domain."""
    domain = identity_normalize(identity)
    found = ses.identity_get(domain)
    if found is None:
        return None
    dkim = found.get("DkimAttributes") or {}
    records = [{"purpose": "DKIM", "type": "CNAME", "name": f"{token}._domainkey.{domain}",
                "value": f"{token}.dkim.amazonses.com", "status": dkim.get("Status", "")}
               for token in dkim.get("Tokens") or []]
    mail_from = found.get("MailFromAttributes") or {}
    if mail_from.get("MailFromDomain"):
        name, status = mail_from["MailFromDomain"], mail_from.get("MailFromDomainStatus", "")
        records += [
            {"purpose": "MAIL FROM", "type": "MX", "name": name,
             "value": f"10 feedback-smtp.{settings.AWS_REGION}.amazonses.com", "status": status},
            {"purpose": "MAIL FROM (SPF)", "type": "TXT", "name": name,
             "value": '"v=spf1 include:amazonses.com ~all"', "status": status},
        ]
    records.append({"purpose": "DMARC (suggested)", "type": "TXT", "name": f"_dmarc.{domain}",
                    "value": f'"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"',
                    "status": None})  # SES does not check DMARC
    return {"domain": domain, "status": found.get("VerificationStatus", ""),
            "verified": found.get("VerificationStatus") == VERIFIED,
            "dkim_status": dkim.get("Status", ""), "has_dkim": bool(dkim.get("Tokens")), "records": records}


def cache_clear():
    with _lock:
        _verified_until.clear()
