"""A TCP proxy on 127.0.0.1 between a client and the local stack that can
misbehave on cue: for each HTTP request, in order, the next action of its
script; every request after the script ends is relayed as it is.

  "relay"  forward the request, relay the whole answer
  "drop"   forward the request, wait for the server's answer (so the server
           has done the work), then close the client's connection without
           relaying a byte of it: the client saw the request go and no answer
  "stall"  forward the request, read the answer, then send the client
           nothing and keep the connection open until the client gives up
           (its read timeout)
  (status, headers, body)  answer this itself; the server never sees the request

It records each request as (method, path, headers) and each action taken."""

import json
import socket
import threading
from urllib.parse import urlparse


def _read_request(conn):
    """One HTTP request from `conn` as raw bytes (headers and Content-Length body), or None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head, body


def _parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers


def _close_after(head):
    """The request with `Connection: close`, so the server ends its answer by closing."""
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines + [b"Connection: close"])


def _answer(status, headers, body):
    raw = json.dumps(body).encode() if not isinstance(body, bytes) else body
    lines = [f"HTTP/1.1 {status} Scripted", f"Content-Length: {len(raw)}", "Content-Type: application/json",
             "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


class ScriptedProxy:
    def __init__(self, upstream, script=()):
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname, parsed.port)
        self.script = list(script)
        self.requests, self.actions = [], []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self._closed = True
        self._listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _next_action(self, head):
        with self._lock:
            self.requests.append(_parse_head(head))
            action = self.script.pop(0) if self.script else "relay"
            self.actions.append(action if isinstance(action, str) else action[0])
            return action

    def _forward(self, head, body):
        """The server's whole answer to the request."""
        with socket.create_connection(self.upstream, timeout=30) as upstream:
            upstream.sendall(_close_after(head) + b"\r\n\r\n" + body)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
            return answer

    def _serve(self, conn):
        with conn:
            while True:
                request = _read_request(conn)
                if request is None:
                    return
                head, body = request
                action = self._next_action(head)
                if not isinstance(action, str):
                    conn.sendall(_answer(*action))
                    return
                answer = self._forward(head, body)
                if action == "drop":
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                if action == "stall":
                    conn.settimeout(60)
                    try:
                        while conn.recv(65536):  # until the client hangs up
                            pass
                    except OSError:
                        pass
                    return
                conn.sendall(answer)
                if b"\r\nconnection: close" in answer.partition(b"\r\n\r\n")[0].lower():
                    return
