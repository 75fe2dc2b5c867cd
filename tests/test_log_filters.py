"""Every email-log filter and combination returns exactly the emails that
match, newest first, across pages, at about one page of reads."""

from datetime import date
from itertools import product

import pytest

from emailhub import model
from emailhub.aws import clients
from emailhub.aws.dynamodb import deserialize
from emailhub.emails import email_get
from emailhub.selectors import LogFilter, email_log_page
from tests.conftest import drain_outbox, message
from tests.test_ses_events import deliver, ses_event, sns_record


@pytest.fixture
def domain(verified):
    from emailhub.identities import identity_verify

    identity_verify(identity="example.org")


def all_emails():
    """A brute-force read of the whole (small) table."""
    pages = clients.client("dynamodb").get_paginator("scan").paginate(TableName="emailhub")
    items = [deserialize(raw) for page in pages for raw in page["Items"]]
    return [item for item in items if item["sk"] == "EMAIL"]


def brute_force(log_filter):
    def matches(email):
        summary = email["summary"]
        addresses = {a.lower() for a in summary["to"] + summary["cc"]}
        return ((not log_filter.status or email["status"] == log_filter.status)
                and (not log_filter.recipient or log_filter.recipient in addresses)
                and (not log_filter.recipient_domain
                     or any(a.endswith("@" + log_filter.recipient_domain) for a in addresses))
                and (not log_filter.recipient_prefix
                     or any(a.startswith(log_filter.recipient_prefix) for a in addresses))
                and (not log_filter.tag or summary["tags"].get(log_filter.tag[0]) == log_filter.tag[1]))

    emails = sorted(all_emails(), key=lambda e: e["created_at"], reverse=True)
    if log_filter.recipient_prefix:  # by address, then newest first: each email under its first such address
        def first_match(email):
            return min((a.lower() for a in email["summary"]["to"] + email["summary"]["cc"]
                       if a.lower().startswith(log_filter.recipient_prefix)), default="")
        emails = sorted(emails, key=first_match)
    return [e["id"] for e in emails if matches(e)]


def page_through(log_filter, dynamodb_calls, size=2):
    """Every page's ids, and the most DynamoDB calls any page made."""
    ids, position, most = [], None, 0
    while True:
        before = len(dynamodb_calls)
        page, position = email_log_page(log_filter=log_filter, position=position, size=size)
        most = max(most, len(dynamodb_calls) - before)
        assert "scan" not in dynamodb_calls[before:]
        ids += [e["id"] for e in page]
        if not position:
            return ids, most


def today(email_id):
    return date.fromisoformat(model.email_created_day(email_id))


@pytest.mark.parametrize("shards", [1, 3])
def test_every_filter_and_combination_matches_a_brute_force_read(send, domain, ses_failures, dynamodb_calls,
                                                                 settings, shards):
    """Issue #15: with EMAILHUB_INDEX_SHARDS, the same pages, from a Query per shard."""
    settings.EMAILHUB_INDEX_SHARDS = shards
    plan = [  # (to, cc, tags)
        (["alice@example.com"], [], {"type": "order"}),
        (["bob@example.org"], ["alice@example.com"], {"type": "alert"}),
        (["bob@example.org"], [], {"type": "alert", "campaign": "pilot"}),
        (["carol@example.org"], [], {"type": "order"}),
        (["alice@example.com"], [], {"type": "alert"}),
        (["alice@example.com"], ["bob@example.org"], {"type": "signup", "campaign": "pilot"}),
        (["carol@example.org"], [], {"type": "alert"}),
        (["alice@example.com"], [], {"type": "alert"}),
        # 5 recipients and domains × 5 tags: past COMBINATIONS_PER_EMAIL, so one wildcard item each.
        (["alice@example.com"], ["bob@example.org", "carol@example.org"],
         {"type": "alert", "a": "1", "b": "2", "c": "3", "d": "4"}),
    ]
    ids = []
    for n, (to, cc, tags) in enumerate(plan):
        ids.append(send(message(to=to, cc=cc, tags=tags, subject=f"n{n}")).json()["id"])
        if n in (1, 4, 6):
            ses_failures("MessageRejected", "no")
        if n == 5:
            drain_outbox()  # the first six are sent or failed; the last two stay queued
    statuses = {e["id"]: e["status"] for e in all_emails()}
    assert set(statuses.values()) == {"sent", "failed", "queued"}

    day = today(ids[0])
    if shards > 1:
        assert len({e["feed"] for e in all_emails()}) > 1  # spread over shards (9 emails: all in one is 1 in 6,561)
    filters = product([None, "sent", "failed", "queued", "sending"],
                      [{}, {"recipient": "alice@example.com"}, {"recipient": "bob@example.org"},
                       {"recipient_domain": "example.org"}, {"recipient_prefix": "ca"},
                       {"recipient_prefix": "alice@"}],
                      [None, ("type", "alert"), ("campaign", "pilot")])
    for status, who, tag in filters:
        log_filter = LogFilter(date_from=day, date_to=day, status=status, tag=tag, **who)
        found, most_calls = page_through(log_filter, dynamodb_calls)
        assert found == brute_force(log_filter), log_filter
        if status == "sending" or "recipient_prefix" in who:
            continue  # checked on the emails: bounded, not one page
        if not who and not tag:
            assert most_calls <= shards, log_filter  # one Query of the emails' own index (per shard)
        elif who and tag:
            # The combination's partition and its wildcard's, and one batch read of the emails.
            assert most_calls <= 2 * shards + 1, log_filter
        else:
            assert most_calls <= shards + 1, log_filter  # one Query of the small items and one batch read


def test_a_rare_tag_is_found_on_the_first_page(send, verified, dynamodb_calls):
    pilot = send(message(tags={"campaign": "pilot"})).json()["id"]
    for n in range(6):
        send(message(tags={"type": "order"}, subject=f"n{n}"))
    day = today(pilot)
    before = len(dynamodb_calls)
    page, position = email_log_page(log_filter=LogFilter(date_from=day, date_to=day, tag=("campaign", "pilot")),
                                    size=2)
    assert [e["id"] for e in page] == [pilot] and position is None
    assert dynamodb_calls[before:] == ["query", "batch_get_item"]


def combination_pages(email_id, **filters):
    """The statuses whose recipient+status and tag+status pages show the email."""
    day = today(email_id)
    shown = set()
    for status in model.STATUSES:
        for extra in ({"recipient": "alice@example.com"}, {"tag": ("type", "alert")}):
            page, _ = email_log_page(log_filter=LogFilter(date_from=day, date_to=day, status=status, **extra))
            if email_id in [e["id"] for e in page]:
                shown.add((status, next(iter(extra))))
    return shown


def both(status):
    return {(status, "recipient"), (status, "tag")}


def test_status_changes_move_an_email_between_the_combination_pages(send, verified, ses_failures):
    from emailhub.resends import emails_discard

    delivered = send(message(tags={"type": "alert"})).json()["id"]
    assert combination_pages(delivered) == both("queued")
    drain_outbox()
    assert combination_pages(delivered) == both("sent")
    ses_id = email_get(delivered)["ses_message_id"]
    deliver(sns_record(ses_event("delivery", ses_id), "n1"))
    assert combination_pages(delivered) == both("delivered")

    failed = send(message(tags={"type": "alert"})).json()["id"]
    ses_failures("MessageRejected", "no")
    drain_outbox()
    assert combination_pages(failed) == both("failed")
    emails_discard(email_ids=[failed], actor="tests")
    assert combination_pages(failed) == both("discarded")


def test_fifty_recipients_and_fifty_tags_are_all_indexed_and_kept_in_step(send, domain):
    to = [f"r{i:02d}@example.org" for i in range(50)]
    tags = {f"t{i:02d}": f"v{i}" for i in range(50)}
    email_id = send(message(to=to, tags=tags)).json()["id"]  # 152 small items: over one transaction
    # A recipient item each, one domain item, a tag item each, and (2,550 pairs being too many to
    # combine) one wildcard combination per recipient and for the domain.
    assert len(email_get(email_id)["companions"]) == 50 + 1 + 50 + 51
    drain_outbox()
    day = today(email_id)
    for filters in ({"recipient": "r49@example.org"}, {"tag": ("t49", "v49")}, {"tag": ("t00", "v0")},
                    {"recipient": "r00@example.org"}, {"recipient_domain": "example.org"},
                    {"recipient": "r49@example.org", "tag": ("t49", "v49")}):
        for status, shown in (("sent", [email_id]), ("queued", [])):
            page, _ = email_log_page(log_filter=LogFilter(date_from=day, date_to=day, status=status, **filters))
            assert [e["id"] for e in page] == shown, (filters, status)


def test_a_recipient_domain_is_one_query_and_lists_each_email_once(send, domain, dynamodb_calls, admin_client):
    """Issue #11: every email to anyone at a domain, newest first, each once
    even when several of its recipients are there."""
    ids = [
        send(message(to=["bob@example.org"], cc=["carol@example.org"], tags={"type": "alert"})).json()["id"],
        send(message(to=["alice@example.com"])).json()["id"],
        send(message(to=["carol@example.org"], tags={"type": "order"})).json()["id"],
        send(message(to=["alice@example.com"], bcc=["dave@example.org"])).json()["id"],
    ]
    day = today(ids[0])
    assert page_through(LogFilter(date_from=day, date_to=day, recipient_domain="example.org"), dynamodb_calls, size=2) \
        == ([ids[3], ids[2], ids[0]], 2)
    found, _ = page_through(LogFilter(date_from=day, date_to=day, recipient_domain="example.org",
                                      tag=("type", "alert")), dynamodb_calls)
    assert found == [ids[0]]
    assert page_through(LogFilter(date_from=day, date_to=day, recipient_domain="example.com"), dynamodb_calls)[0] \
        == [ids[3], ids[1]]

    page = admin_client.get("/admin/emails/", {"recipient": "@Example.ORG"}).content.decode()
    assert all(f"/admin/emails/{email_id}/" in page for email_id in (ids[0], ids[2], ids[3]))
    assert f"/admin/emails/{ids[1]}/" not in page
    assert "Write a domain" in admin_client.get("/admin/emails/", {"recipient": "@nodot"}).content.decode()


def test_an_address_prefix_lists_its_recipients_emails_by_address(send, domain, dynamodb_calls, admin_client):
    """Issue #11: `ali*` in the recipient field finds every address starting
    so, in order of address and each address's emails newest first, in one
    Query and one batch read; a prefix too short or with spaces is refused."""
    older_alice = send(message(to=["alice@example.com"])).json()["id"]
    alina = send(message(to=["alina@example.org"])).json()["id"]
    bob = send(message(to=["bob@example.org"], cc=["Alice@example.com"])).json()["id"]
    day = today(alina)
    before = len(dynamodb_calls)
    page, position = email_log_page(log_filter=LogFilter(date_from=day, date_to=day, recipient_prefix="ali"))
    assert [e["id"] for e in page] == [bob, older_alice, alina] and position is None
    assert dynamodb_calls[before:] == ["query", "batch_get_item"]

    response = admin_client.get("/admin/emails/", {"recipient": "ALI*"})
    body = response.content.decode()
    assert response.status_code == 200 and "in order of address" in body
    assert [body.index(f"/admin/emails/{i}/") for i in (bob, older_alice, alina)] == sorted(
        body.index(f"/admin/emails/{i}/") for i in (bob, older_alice, alina))
    for bad in ("a*", "al ice*", "al\x01*"):
        refused = admin_client.get("/admin/emails/", {"recipient": bad}).content.decode()
        assert "at least 2 characters" in refused and f"/admin/emails/{bob}/" not in refused
