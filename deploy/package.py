#!/usr/bin/env python3
"""Build the Lambda package for a stage: `make package STAGE=dev`.

1. A virtualenv at build/venv with requirements.txt's runtime pins and
   nothing else (no moto, pytest or their dependencies). It is rebuilt when
   requirements.txt or the Python version changes.
2. `zappa package <stage>` run from that virtualenv, offline: the stage's
   prebuild_script precompiles everything with checked-hash .pyc files and its
   zip callback trims what the Lambda never loads (deploy/prebuild.py).
3. Prints the zip's path and size.

Standard library only, so any Python 3.11 can run it.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# Named "venv": Zappa skips folders of that name when it scans the project
# (for WebSocket handlers) and when it copies it into the package.
VENV = BUILD / "venv"
REQUIREMENTS = ROOT / "requirements.txt"
MIB = 1024 * 1024


def _fingerprint(python):
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], check=True,
                             capture_output=True, text=True).stdout
    return hashlib.sha256(REQUIREMENTS.read_bytes() + version.encode()).hexdigest()


def venv_python(venv=VENV):
    return venv / "bin" / "python"


def ensure_venv(python=None, venv=VENV, quiet=False):
    """The packaging virtualenv, (re)built only when its inputs changed."""
    python = python or os.environ.get("PYTHON") or sys.executable
    stamp = venv / ".requirements.sha256"
    wanted = _fingerprint(python)
    if stamp.exists() and stamp.read_text() == wanted and venv_python(venv).exists():
        return venv
    if not quiet:
        print(f"Building the packaging virtualenv {venv.relative_to(ROOT)} from requirements.txt ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv_python(venv)), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
                               capture_output=True, text=True)
    if installed.returncode != 0:
        raise SystemExit(f"pip install -r requirements.txt failed:\n{installed.stdout}{installed.stderr}")
    stamp.write_text(wanted)
    return venv


def stage_settings(stage):
    """A stage's settings as Zappa sees them (following `extends`)."""
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    merged, seen = {}, set()
    while stage:
        if stage in seen or stage not in settings:
            raise SystemExit(f"zappa_settings.json has no usable stage {stage!r}")
        seen.add(stage)
        merged = {**settings[stage], **merged}
        stage = settings[stage].get("extends")
    merged.pop("extends", None)
    return merged


def zappa_env(venv=VENV, extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env.update({"VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"})
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.update(extra or {})
    return env


def zappa(args, *, venv=VENV, env=None, check=True, capture=False):
    """Run Zappa's CLI (without its network version check) from the project root."""
    return subprocess.run([str(venv_python(venv)), str(ROOT / "deploy" / "zappa_offline.py"), *args],
                          cwd=ROOT, env=zappa_env(venv, env), check=check,
                          capture_output=capture, text=True)


def build(stage, output=None, quiet=False):
    """Build build/emailhub-<stage>.zip; returns its path."""
    settings = stage_settings(stage)
    for key, wanted in (("slim_handler", False), ("use_precompiled_packages", False)):
        if settings.get(key, not wanted) != wanted:
            raise SystemExit(f"zappa_settings.json: stage {stage!r} must set {key!r} to {str(wanted).lower()} "
                             "(packaging must not download anything)")
    venv = ensure_venv(quiet=quiet)
    output = Path(output or BUILD / f"emailhub-{stage}.zip")
    output.unlink(missing_ok=True)
    result = zappa(["package", stage, "-o", str(output)], venv=venv, capture=quiet, check=False)
    if result.returncode != 0:
        raise SystemExit(f"zappa package {stage} failed ({result.returncode})"
                         + (f":\n{result.stdout}\n{result.stderr}" if quiet else ""))
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", nargs="?", default=os.environ.get("STAGE", "dev"))
    parser.add_argument("--output", help="zip path (default build/emailhub-<stage>.zip)")
    args = parser.parse_args(argv)
    path = build(args.stage, args.output)
    size = path.stat().st_size
    print(f"\n{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{size / MIB:.1f} MiB ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
