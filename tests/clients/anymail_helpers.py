"""The example Django project (clients/example_project) as its own process:
its settings never meet Emailhub's in one interpreter."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"
MANAGE = CLIENTS / "example_project" / "manage.py"
TRACKING_PATH = "/anymail/emailhub/tracking/"
SENDER = "alice@example.com"  # verified by the local_stack fixture


def tracking_url(port):
    return f"http://127.0.0.1:{port}{TRACKING_PATH}"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def example_env(*, base_url="http://127.0.0.1:9", key="eh_unused", secret="", events_file=""):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        # This checkout's package first (the editable install may point at another).
        "PYTHONPATH": os.pathsep.join(filter(None, [str(CLIENTS), env.get("PYTHONPATH")])),
        "EMAILHUB_API_URL": base_url, "EMAILHUB_API_KEY": key, "EMAILHUB_WEBHOOK_SECRET": secret,
        "EXAMPLE_FROM_EMAIL": SENDER, "EXAMPLE_EVENTS_FILE": str(events_file), "PYTHONUNBUFFERED": "1",
    })
    return env


def manage(env, *args, timeout=60):
    """Run the example project's manage.py; its CompletedProcess."""
    return subprocess.run([sys.executable, str(MANAGE), *args], env=env, text=True, capture_output=True,
                          timeout=timeout)


def send_examples(env, *args):
    """send_examples' anymail_status lines, parsed (the command must succeed)."""
    done = manage(env, "send_examples", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


class ExampleServer:
    """`manage.py runserver` of the example project on 127.0.0.1."""

    def __init__(self, env, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tracking_url = tracking_url(self.port)
        self.process = subprocess.Popen([sys.executable, str(MANAGE), "runserver", f"127.0.0.1:{self.port}",
                                         "--noreload"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("the example project stopped: " + self.process.stdout.read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("the example project did not start listening")

    def stop(self):
        self.process.terminate()
        try:
            self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


def events_in(path):
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def example_server_factory():
    started = []

    def start(env, port=None):
        server = ExampleServer(env, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
