"""Fault points: named steps of the worker where a crash drill can kill it.

EMAILHUB_FAULT_POINT="<step>" (or "<step>:<n>") makes the process kill itself
with SIGKILL the first (n-th) time it reaches <step> — no cleanup, no
`finally`, as when Lambda times out or a host dies. tests/test_crash_drills.py
runs the worker as a separate process with each of them. Settings ignore the
variable in production; unset, a fault point costs one settings read.

The steps, in the order an email meets them:
- before_claim     payload loaded, MIME built, pacing slot taken; nothing written
- after_claim      the email is `sending`, the SES call is next
- after_ses_call   SES accepted the email; nothing recorded yet
- during_park      failed is recorded; the dead-letter message is not sent yet
- after_park       the dead-letter message is sent; the email does not say so yet
"""

import os
import signal
import threading

from django.conf import settings

STEPS = ("before_claim", "after_claim", "after_ses_call", "during_park", "after_park")

_reached = {}
_lock = threading.Lock()


def fault_point(step):
    """Die here if the drill names this step (see the module's docstring)."""
    wanted = settings.EMAILHUB_FAULT_POINT
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != step:
        return
    with _lock:
        _reached[step] = _reached.get(step, 0) + 1
        if _reached[step] == int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
