"""Zappa's own CLI, minus its PyPI version check, so that packaging needs no
network. `python deploy/zappa_offline.py package dev` == `zappa package dev`.

Run it with the packaging virtualenv's Python (deploy/package.py does)."""

import sys

from zappa.cli import ZappaCLI, handle


def _no_update_check(self):
    """Zappa asks pypi.org for a newer release before every command."""


ZappaCLI.check_for_update = _no_update_check

if __name__ == "__main__":
    sys.exit(handle())
