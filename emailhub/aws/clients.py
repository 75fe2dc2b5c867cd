"""Lazily created, cached boto3 clients.

The endpoint and region are read from settings when a client is first made:
an unset AWS_ENDPOINT_URL means real AWS, a set one means an emulator.
Tests call `reset()` so each starts with fresh clients.
"""

import os
import threading

import boto3
from botocore.config import Config
from django.conf import settings

_clients = {}
_lock = threading.Lock()
_session = []  # one boto3 session for all clients: it caches the service models it loads

# Short timeouts: a Lambda behind API Gateway has 29 s in all, and the worker
# treats a timeout as a transient error to retry with backoff.
_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,
    retries={"max_attempts": 2, "mode": "standard"},
    max_pool_connections=50,
)
# SES sends are retried by the worker, which records every attempt on the
# email's timeline; a hidden SDK retry would be an unrecorded second send.
_NO_RETRY = _CONFIG.merge(Config(retries={"total_max_attempts": 1, "mode": "standard"}))
_SERVICE_CONFIG = {"sesv2": _NO_RETRY}


def client(service):
    key = (service, settings.AWS_ENDPOINT_URL, settings.AWS_REGION)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key) or new_client(
                service, region=settings.AWS_REGION, endpoint_url=settings.AWS_ENDPOINT_URL)
            _clients[key] = found
    return found


def new_client(service, *, region, endpoint_url):
    """A client on the shared session, not cached. Takes the region and the
    endpoint as arguments: the settings module reads the stage's secret with
    one before Django's settings exist."""
    kwargs = {"region_name": region, "config": _SERVICE_CONFIG.get(service, _CONFIG)}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            # An emulator accepts any credentials; don't make newcomers invent some.
            kwargs["aws_access_key_id"] = "local"
            kwargs["aws_secret_access_key"] = "local"
    if not _session:
        _session.append(boto3.session.Session())
    return _session[0].client(service, **kwargs)  # sessions are not thread-safe: client() holds _lock


def reset():
    """Forget the clients (the session and its loaded models stay)."""
    with _lock:
        _clients.clear()
