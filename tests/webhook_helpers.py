"""A webhook receiver on 127.0.0.1 and a DNS stub, for the webhooks tests."""

import ipaddress
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emailhub.local.poller import poll_webhooks_once


class Receiver:
    """Records every POST (headers, raw body); answers `status` (or the next
    of `statuses`, when set). `down` closes connections without an answer."""

    def __init__(self):
        self.received, self.status, self.statuses, self.down = [], 204, [], False
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.status
                    if receiver.down:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    receiver.received.append((dict(self.headers), body))
                self.send_response(status)
                payload = b"<b>nope</b>" * 200 if status >= 400 else b"ok"
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"

    def events(self):
        return [json.loads(body) for _, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def dns(monkeypatch):
    """Host name -> addresses, for the SSRF guard; IP literals resolve to themselves,
    anything else fails as an unknown name would. No test asks a real resolver."""
    from emailhub.webhooks import ssrf

    names = {}

    def resolve(host, port, type=0, **kwargs):  # getaddrinfo's own keywords
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if host not in names:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            addresses = names[host]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]

    monkeypatch.setattr(ssrf, "resolver", resolve)
    return names


def work_webhooks(rounds=30):
    """Run the webhooks worker until its queue has nothing visible."""
    for _ in range(rounds):
        if not poll_webhooks_once(wait_seconds=0):
            return
    raise AssertionError("the webhooks queue did not drain")
