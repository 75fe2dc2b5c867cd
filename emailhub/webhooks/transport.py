"""One POST to a checked address (ssrf.Target): connect to that IP, send the
URL's host as Host and TLS server name, follow no redirect, read a few bytes
of the answer and give up after the timeout."""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass

SNIPPET_BYTES = 1024


@dataclass(frozen=True)
class Answer:
    status: int          # 0 when there was no HTTP answer
    latency_ms: int
    snippet: str         # the start of the body (or the error), as text; escaped when shown
    error: str = ""

    @property
    def ok(self):
        return 200 <= self.status < 300


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed IP, verifying the certificate for the URL's host name."""

    def __init__(self, address, host, port, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, address, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(target, *, body, headers, timeout):
    connection_class = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = connection_class(target.address, target.host, target.port, timeout)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host_header = f"[{target.host}]" + ("" if target.port == default_port else f":{target.port}")
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body, headers={
            **headers, "Host": host_header, "Content-Type": "application/json", "User-Agent": "Emailhub-Webhooks/1",
        })
        response = connection.getresponse()
        snippet = response.read(SNIPPET_BYTES).decode("utf-8", "replace")
        return Answer(status=response.status, latency_ms=_ms(started), snippet=snippet)
    except (OSError, http.client.HTTPException, ssl.SSLError) as err:
        return Answer(status=0, latency_ms=_ms(started), snippet="", error=f"{type(err).__name__}: {err}"[:300])
    finally:
        connection.close()


def _ms(started):
    return int((time.monotonic() - started) * 1000)
