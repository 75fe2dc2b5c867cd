"""Where the running `make run` is. run_local records its emulator's endpoint
and its server's URL in a small file (.emailhub-local.json beside manage.py,
or EMAILHUB_LOCAL_STATE), and local-mode settings read it when
AWS_ENDPOINT_URL is unset: `manage.py` in a second terminal talks to the stack
that runs, whatever PORT and AWS_ENDPOINT_URL it was started with. A file
whose process is gone is ignored. Never read in production."""

import json
import os
from pathlib import Path

DEFAULT_ENDPOINT = "http://127.0.0.1:5000"


def local_state_path():
    return Path(os.environ.get("EMAILHUB_LOCAL_STATE") or Path(__file__).resolve().parents[2] / ".emailhub-local.json")


def _alive(pid):
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_state_read():
    """{"aws_endpoint_url", "url", "pid"} of the stack that runs, or None."""
    try:
        state = json.loads(local_state_path().read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and _alive(state.get("pid")) else None


def local_state_write(*, aws_endpoint_url, url):
    path = local_state_path()
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps({"aws_endpoint_url": aws_endpoint_url, "url": url, "pid": os.getpid()}))
    scratch.replace(path)


def local_state_clear():
    """Forget the stack, if this process is the one recorded."""
    path = local_state_path()
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def local_endpoint():
    """The emulator settings use in local mode when AWS_ENDPOINT_URL is unset."""
    state = local_state_read()
    return state["aws_endpoint_url"] if state and state.get("aws_endpoint_url") else DEFAULT_ENDPOINT


def unreachable_message(err, endpoint):
    """One line for a command that could not reach AWS (no traceback)."""
    if not endpoint:
        return f"Cannot reach AWS: {err}"
    hint = ("Is `make run` running? Start it in another terminal, or set AWS_ENDPOINT_URL to the "
            "emulator it printed.")
    return f"Cannot reach the AWS emulator at {endpoint}. {hint}"
