"""Webhook endpoints: list and create (admin; the secret is shown once), one
endpoint's settings and recent deliveries, send a test event, rotate the
secret (admin), replay one delivery or every parked one in a time range
(operator). Every action: confirm on GET, act on POST, audited."""

from django.http import Http404
from django.urls import reverse

from dashboard.forms import WebhookEndpointForm, WebhookReplayRangeForm
from dashboard.pages import MANAGE_WEBHOOKS, REPLAY_WEBHOOKS, actor, done, forbid_unless, render_page, require
from emailhub import model
from emailhub.audit import audit_record
from emailhub.errors import EmailhubError, NotFound
from emailhub.webhooks.deliveries import deliveries_parked, deliveries_recent, deliveries_replay_parked, delivery_replay
from emailhub.webhooks.endpoints import (
    webhook_endpoint_create, webhook_endpoint_get, webhook_endpoint_list, webhook_endpoint_rotate,
    webhook_endpoint_update,
)
from emailhub.webhooks.enqueue import webhook_test_send

NEW_SECRET = "dashboard.new_webhook_secret"


def _endpoint_or_404(endpoint_id):
    try:
        return webhook_endpoint_get(endpoint_id=endpoint_id)
    except NotFound as err:
        raise Http404(err.message) from err


def _show_secret_once(request, endpoint_id, secret):
    # Handed to the next page once through the session (never a cookie), then gone.
    request.session[NEW_SECRET] = {"endpoint_id": endpoint_id, "secret": secret}


def webhook_list(request):
    form = WebhookEndpointForm(request.POST or None, initial={"enabled": True})
    if request.method == "POST":
        forbid_unless(request, MANAGE_WEBHOOKS)
        if form.is_valid():
            data = form.cleaned_data
            try:
                endpoint, secret = webhook_endpoint_create(url=data["url"], types=data["event_types"],
                                                           description=data["description"])
            except EmailhubError as err:
                form.add_error(None, err.message)
            else:
                if not data["enabled"]:
                    webhook_endpoint_update(endpoint_id=endpoint["id"], enabled=False)
                audit_record(actor=actor(request), action="webhook.create", target=endpoint["id"],
                             outcome=f"created {endpoint['id']} for {endpoint['url']}")
                _show_secret_once(request, endpoint["id"], secret)
                return done(request, f"Webhook endpoint {endpoint['id']} created.",
                            reverse("admin:webhook_detail", args=[endpoint["id"]]))
    return render_page(request, "dashboard/webhooks.html", title="Webhooks", endpoints=webhook_endpoint_list(),
                       form=form, can_manage=request.user.has_perm(MANAGE_WEBHOOKS))


def webhook_detail(request, endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    form = WebhookEndpointForm(request.POST or None, initial={
        "url": endpoint["url"], "event_types": endpoint["event_types"], "description": endpoint.get("description"),
        "enabled": endpoint["enabled"]})
    if request.method == "POST":
        forbid_unless(request, MANAGE_WEBHOOKS)
        if form.is_valid():
            data = form.cleaned_data
            webhook_endpoint_update(endpoint_id=endpoint_id, url=data["url"], types=data["event_types"],
                                    description=data["description"], enabled=data["enabled"])
            audit_record(actor=actor(request), action="webhook.update", target=endpoint_id,
                         outcome=f"{data['url']}; {'enabled' if data['enabled'] else 'disabled'}; "
                                 f"{', '.join(data['event_types'])}"[:1000])
            return done(request, f"Webhook endpoint {endpoint_id} saved.",
                        reverse("admin:webhook_detail", args=[endpoint_id]))
    created = request.session.get(NEW_SECRET)
    if created and created.get("endpoint_id") == endpoint_id:
        request.session.pop(NEW_SECRET)
    else:
        created = None
    return render_page(
        request, "dashboard/webhook_detail.html", title=f"Webhook {endpoint_id}",
        breadcrumbs=[("Webhooks", reverse("admin:webhooks"))], endpoint=endpoint, form=form,
        deliveries=deliveries_recent(endpoint_id=endpoint_id), secret=created and created["secret"],
        range_form=WebhookReplayRangeForm(), can_manage=request.user.has_perm(MANAGE_WEBHOOKS),
        can_replay=request.user.has_perm(REPLAY_WEBHOOKS))


def _confirm(request, endpoint, *, question, button, **context):
    return render_page(request, "dashboard/webhook_confirm.html", title=f"Webhook {endpoint['id']}",
                       breadcrumbs=[("Webhooks", reverse("admin:webhooks")),
                                    (endpoint["id"], reverse("admin:webhook_detail", args=[endpoint["id"]]))],
                       endpoint=endpoint, question=question, button=button, **context)


@require(MANAGE_WEBHOOKS)
def webhook_test(request, endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    if request.method == "POST":
        event = webhook_test_send(endpoint_id=endpoint_id)
        audit_record(actor=actor(request), action="webhook.test", target=endpoint_id,
                     outcome=f"test event {event['id']} queued")
        return done(request, f"Test event {event['id']} queued; it shows below once tried.",
                    reverse("admin:webhook_detail", args=[endpoint_id]))
    return _confirm(request, endpoint, question=f"Send a webhook.test event to {endpoint['url']}?",
                    button="Send test event")


@require(MANAGE_WEBHOOKS)
def webhook_rotate(request, endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    if request.method == "POST":
        secret = webhook_endpoint_rotate(endpoint_id=endpoint_id)
        audit_record(actor=actor(request), action="webhook.rotate_secret", target=endpoint_id,
                     outcome="new secret; the previous one signs too for 24 hours")
        _show_secret_once(request, endpoint_id, secret)
        return done(request, "New signing secret made.", reverse("admin:webhook_detail", args=[endpoint_id]))
    return _confirm(request, endpoint, button="Rotate the secret",
                    question="Make a new signing secret? Events are signed with both the new and the current "
                             "secrets for 24 hours, then with the new one only.")


@require(REPLAY_WEBHOOKS)
def webhook_replay(request, endpoint_id, event_id):
    endpoint = _endpoint_or_404(endpoint_id)
    if request.method == "POST":
        try:
            delivery_replay(endpoint_id=endpoint_id, event_id=event_id)
        except EmailhubError as err:
            return done(request, err.message, reverse("admin:webhook_detail", args=[endpoint_id]), level=40)
        audit_record(actor=actor(request), action="webhook.replay", target=endpoint_id,
                     outcome=f"replayed {event_id}")
        return done(request, f"Event {event_id} queued again.", reverse("admin:webhook_detail", args=[endpoint_id]))
    return _confirm(request, endpoint, question=f"Send event {event_id} to {endpoint['url']} again?",
                    button="Replay it")


@require(REPLAY_WEBHOOKS)
def webhook_replay_range(request, endpoint_id):
    endpoint = _endpoint_or_404(endpoint_id)
    form = WebhookReplayRangeForm(request.POST or request.GET or None)
    if not form.is_valid():
        return done(request, "Give a valid time range (at most 7 days).",
                    reverse("admin:webhook_detail", args=[endpoint_id]), level=40)
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    if request.method == "POST":
        replayed, refused = deliveries_replay_parked(endpoint_id=endpoint_id, since=since, until=until)
        audit_record(actor=actor(request), action="webhook.replay_range", target=endpoint_id,
                     outcome=f"{len(replayed)} replayed, {len(refused)} refused, "
                             f"{model.iso(since)} to {model.iso(until)}",
                     details=[{"event_id": e, "result": "replayed"} for e in replayed]
                     + [{"event_id": e, "result": why} for e, why in refused])
        return done(request, f"{len(replayed)} parked deliveries queued again"
                             + (f", {len(refused)} refused (already on their way)" if refused else "") + ".",
                    reverse("admin:webhook_detail", args=[endpoint_id]))
    parked = deliveries_parked(endpoint_id=endpoint_id, since=since, until=until)
    return _confirm(request, endpoint, button=f"Replay {len(parked)}", range_form=form,
                    question=f"Send the {len(parked)} parked deliveries created between {model.iso(since)} and "
                             f"{model.iso(until)} to {endpoint['url']} again?")
