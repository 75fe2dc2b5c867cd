"""The local AWS emulator: moto's server mode, in-process.

Local development and tests only; nothing here is imported in production."""

import copy
import functools
import logging
import socket
import threading
from urllib.parse import urlparse

_WRITE_LOCK = threading.RLock()
_ATOMIC_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items", "get_item")
# Reads hand back moto's live item objects, serialised after the backend
# returns: a concurrent update then changes a dict while it is being read
# ("dictionary changed size during iteration"). They return copies, made under the lock.
_COPIED_READS = ("get_item",)


class _CopyOncePerTransaction:
    """moto backs up the whole table once per item of a TransactWriteItems
    (a 52-item accept copies the table 52 times); the copies are identical, so
    inside a transaction one copy per table serves them all."""

    def __init__(self):
        self.active = None

    def deepcopy(self, obj, *args):
        if self.active is None:
            return copy.deepcopy(obj, *args)
        if id(obj) not in self.active:
            self.active[id(obj)] = copy.deepcopy(obj, *args)
        return self.active[id(obj)]


_copier = _CopyOncePerTransaction()


def _transact_copying_once(original):
    @functools.wraps(original)
    def transact(self, *args, **kwargs):
        _copier.active = {}
        try:
            return original(self, *args, **kwargs)
        finally:
            _copier.active = None

    return transact


def make_dynamodb_atomic():
    """Real DynamoDB applies each conditional write atomically; moto checks and
    writes in plain Python, so two threads can both pass one condition. One
    lock around moto's item operations restores the guarantee the code relies on
    (and, under it, transactions back up each table once instead of per item)."""
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend

    if not getattr(DynamoDBBackend.transact_write_items, "_emailhub_atomic", False):
        dynamodb_models.copy = _copier
        DynamoDBBackend.transact_write_items = _transact_copying_once(DynamoDBBackend.transact_write_items)
    for name in _ATOMIC_METHODS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_emailhub_atomic", False):
            continue

        @functools.wraps(original)
        def locked(self, *args, _original=original, _copied=name in _COPIED_READS, **kwargs):
            with _WRITE_LOCK:
                result = _original(self, *args, **kwargs)
                return copy.deepcopy(result) if _copied else result

        locked._emailhub_atomic = True
        setattr(DynamoDBBackend, name, locked)


def port_in_use(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) == 0


def emulator_start(endpoint_url):
    """Start moto's server on the endpoint's host and port (127.0.0.1 only)."""
    from moto.server import ThreadedMotoServer

    parsed = urlparse(endpoint_url)
    host, port = parsed.hostname, parsed.port or 5000
    if host not in ("127.0.0.1", "localhost"):
        raise RuntimeError(f"The local emulator only listens on 127.0.0.1, not {host}.")
    if port_in_use("127.0.0.1", port):
        raise RuntimeError(f"Port {port} is taken: is another `make run` still running? "
                           "Stop it or set AWS_ENDPOINT_URL to another port.")
    make_dynamodb_atomic()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call drowns the useful output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto's state lives in the process, not in the server: start empty, as
    # a new `make run` does, whatever an earlier emulator of this process left.
    import urllib.request

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
    direct.open(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"), timeout=10).close()
    return server
