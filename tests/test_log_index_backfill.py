"""`manage.py backfill_log_index`: emails stored by earlier releases (before
the tag and match-status indexes, and before the status, domain, combination
and prefix keys) become findable; running it twice, or in pieces, does the
same as once."""

from io import StringIO

from django.core.management import call_command

from emailhub import model
from emailhub.aws import clients
from emailhub.selectors import LogFilter, email_log_page
from tests.conftest import drain_outbox, message
from tests.test_log_filters import all_emails, brute_force, today


def make_legacy(email_id, release=0):
    """What an earlier release stored. Release 1 (tag and match-status
    indexes): a status and a feed partition per day, the domain on the first recipient
    item, no domain, combination or prefix keys. Release 0, before that:
    also recipient items without a status, no tag items, no `companions`."""
    dynamo = clients.client("dynamodb")
    pk = {"S": f"EMAIL#{email_id}"}
    items = dynamo.query(TableName="emailhub", KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": pk})["Items"]
    for item in items:
        key = {"pk": pk, "sk": item["sk"]}
        sk = item["sk"]["S"]
        if sk == "EMAIL":
            status_day = f"{item['status']['S']}#{model.email_created_day(email_id)}"
            dynamo.update_item(TableName="emailhub", Key=key,
                               UpdateExpression="SET status_day = :sd, feed = :feed REMOVE email_status, log_index"
                                                + (", companions" if release == 0 else ""),
                               ExpressionAttributeValues={":sd": {"S": status_day}, ":feed": {
                                   "S": f"EMAIL#{model.email_created_day(email_id)}"}})
        elif sk.startswith("DOM#") or "#TAG#" in sk or (release == 0 and sk.startswith("TAG#")):
            dynamo.delete_item(TableName="emailhub", Key=key)
        elif sk.startswith("RCPT#"):
            domain = item["rcpt"]["S"].rpartition("@")[2]
            dynamo.update_item(TableName="emailhub", Key=key,
                               UpdateExpression="SET rcpt_domain = :d REMOVE rcpt_prefix, rcpt_order"
                                                + (", #s, match_status" if release == 0 else ""),
                               ExpressionAttributeValues={":d": {"S": domain}},
                               **({"ExpressionAttributeNames": {"#s": "status"}} if release == 0 else {}))


def backfill(*args):
    out = StringIO()
    call_command("backfill_log_index", *args, stdout=out)
    return out.getvalue()


def pages(day):
    """Every filter the back-fill serves, each compared with a brute-force read."""
    filters = [LogFilter(date_from=day, date_to=day, tag=("type", "alert")),
               LogFilter(date_from=day, date_to=day, tag=("type", "alert"), status="sent"),
               LogFilter(date_from=day, date_to=day, recipient="alice@example.com", status="sent"),
               LogFilter(date_from=day, date_to=day, recipient="alice@example.com", status="queued"),
               LogFilter(date_from=day, date_to=day, status="sent"),
               LogFilter(date_from=day, date_to=day, recipient_domain="example.com", status="sent"),
               LogFilter(date_from=day, date_to=day, recipient="alice@example.com", tag=("type", "alert")),
               LogFilter(date_from=day, date_to=day, recipient_prefix="ali")]
    return [([e["id"] for e in email_log_page(log_filter=f, size=50)[0]], brute_force(f)) for f in filters]


def legacy_emails(send, count):
    """`count` sent emails and a queued one, alternately of release 0 and 1."""
    ids = [send(message(tags={"type": "alert"}, subject=f"n{n}")).json()["id"] for n in range(count)]
    drain_outbox()
    ids.append(send(message(tags={"type": "alert"}, subject="still queued")).json()["id"])
    for n, email_id in enumerate(ids):
        make_legacy(email_id, release=n % 2)
    return ids


def test_backfill_makes_old_emails_findable_and_is_idempotent(send, verified):
    ids = legacy_emails(send, 3)
    day = today(ids[0])
    before = pages(day)
    # Every email lacks the status, domain, combination and prefix keys; release 0's also the tag keys.
    assert all(shown == [] for shown, _ in before[4:])
    assert any(shown != expected for shown, expected in before[:4])

    out = backfill()
    assert "4 emails, 4 back-filled, 0 already had their index items" in out and "Done" in out
    for shown, expected in pages(day):
        assert shown == expected and shown
    drain_outbox()  # the queued one is sent now: its small items follow
    for shown, expected in pages(day):
        assert shown == expected

    before = {e["id"]: e for e in all_emails()}
    out = backfill()
    assert "0 back-filled, 4 already had their index items" in out
    assert {e["id"]: e for e in all_emails()} == before


def test_backfill_resumes_where_it_stopped(send, verified):
    ids = legacy_emails(send, 4)
    out = backfill("--max-emails", "2")
    assert "2 back-filled" in out and "run again" in out
    done = [e["id"] for e in all_emails() if e.get("log_index") == model.LOG_INDEX_VERSION]
    assert len(done) == 2

    out = backfill()
    assert out.startswith("Resuming at") and "3 emails, 3 back-filled, 0 already" in out
    assert all(e.get("log_index") == model.LOG_INDEX_VERSION and "status_day" not in e for e in all_emails())
    day = today(ids[0])
    for shown, expected in pages(day):
        assert shown == expected


def test_a_new_email_needs_no_backfill(send, verified):
    email_id = send(message(tags={"type": "alert"})).json()["id"]
    assert "0 back-filled, 1 already had their index items" in backfill()
    day = today(email_id)
    page, _ = email_log_page(log_filter=LogFilter(date_from=day, date_to=day, tag=("type", "alert"),
                                                  status=model.QUEUED))
    assert [e["id"] for e in page] == [email_id]


def test_backfill_under_index_shards_spreads_the_old_emails(send, verified, settings):
    """Emails of a release without shards, back-filled after EMAILHUB_INDEX_SHARDS
    was raised, are found by the sharded pages (and by the back-fill's next run)."""
    ids = legacy_emails(send, 5)
    settings.EMAILHUB_INDEX_SHARDS = 3
    assert "6 emails, 6 back-filled" in backfill()
    assert len({e["feed"] for e in all_emails()}) > 1  # spread (6 emails in one shard: 1 in 243)
    for shown, expected in pages(today(ids[0])):
        assert shown == expected and shown
    assert "0 back-filled, 6 already had their index items" in backfill("--restart")


def make_release_2(email_id):
    """What release 2 stored for an email of a `send` key: no KEY# items and no `search_key`."""
    dynamo = clients.client("dynamodb")
    pk = {"S": f"EMAIL#{email_id}"}
    items = dynamo.query(TableName="emailhub", KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": pk})["Items"]
    kept = [i["sk"]["S"] for i in items if not i["sk"]["S"].startswith("KEY#") and i["sk"]["S"] != "EMAIL"]
    for item in items:
        if item["sk"]["S"].startswith("KEY#"):
            dynamo.delete_item(TableName="emailhub", Key={"pk": pk, "sk": item["sk"]})
    dynamo.update_item(TableName="emailhub", Key={"pk": pk, "sk": {"S": "EMAIL"}},
                       UpdateExpression="SET log_index = :v, companions = :c REMOVE search_key",
                       ExpressionAttributeValues={":v": {"N": "2"}, ":c": {"L": [{"S": sk} for sk in kept]}})


def test_backfill_gives_a_send_keys_earlier_emails_its_own_index_items(send, verified):
    from emailhub.apikeys import api_key_create

    key, secret = api_key_create(name="shop", scope="send")
    mine = [send(message(tags={"type": "alert"}, subject=f"mine {n}"), key=secret).json()["id"] for n in range(2)]
    other = send(message(tags={"type": "alert"}, subject="a full key's")).json()["id"]
    drain_outbox()
    for email_id in mine + [other]:
        make_release_2(email_id)
    day = today(mine[0])
    filters = [LogFilter(date_from=day, date_to=day, api_key_prefix=key.prefix),
               LogFilter(date_from=day, date_to=day, api_key_prefix=key.prefix, status="sent"),
               LogFilter(date_from=day, date_to=day, api_key_prefix=key.prefix, recipient="alice@example.com",
                         tag=("type", "alert"))]
    assert all(email_log_page(log_filter=f)[0] == [] for f in filters)  # release 2's emails: not found

    assert "3 emails, 3 back-filled" in backfill()
    for log_filter in filters:
        assert [e["id"] for e in email_log_page(log_filter=log_filter)[0]] == mine[::-1]
    emails = {e["id"]: e for e in all_emails()}
    assert [emails[i].get("search_key") for i in mine + [other]] == [key.prefix, key.prefix, None]
    assert not any(sk.startswith("KEY#") for sk in emails[other]["companions"])  # a full key's: no copies
    assert "0 back-filled, 3 already had their index items" in backfill()
