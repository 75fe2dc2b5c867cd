"""Zappa hooks that keep the Lambda package lean and its cold start fast.

zappa_settings.json names them, so `zappa package|deploy|update <stage>` runs
them whether it is started by `make package` or by hand:

- `precompile` (prebuild_script) compiles every module of the project and of
  the packaging virtualenv with `--invalidation-mode checked-hash`. Zappa's zip
  stamps every file 1980-01-01; a pip-made `.pyc` records the source's mtime,
  so inside Lambda every `.pyc` looks stale, and /var/task is read-only: each
  cold start would compile the whole of Django again. A checked-hash `.pyc`
  is validated by the source's hash, whatever the timestamps say.
- `trim_zip` (the "zip" callback) removes from the finished zip what the
  Lambda never loads: the service models of AWS services Emailhub does not
  call, and the packaging tools Zappa itself needs only on the deployer's
  machine. Deleting them from the virtualenv instead would break `zappa`,
  which runs from that same virtualenv.

Standard library only: Zappa imports this file from the working directory.
"""

import compileall
import copy
import importlib.util
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project's own code that goes into the package.
PROJECT_CODE = ["manage.py", "emailhub", "dashboard"]

# botocore/data/<service>: the services the Lambda's code calls (the IAM test
# lists them too), and nothing else. boto3/data only holds resource models.
BOTOCORE_SERVICES = {"dynamodb", "s3", "secretsmanager", "sesv2", "ses", "sqs", "sts"}
BOTO3_RESOURCES = {"s3"}

# Top-level entries of site-packages that only the deployer's `zappa` uses
# (CloudFormation templating, progress bars, the CLI) or that nothing imports
# at run time (installers, certifi: botocore ships its own CA bundle).
DEPLOY_ONLY = {
    "troposphere", "cfn_flip", "cfn_clean", "cfn_tools", "placebo", "tqdm", "yaml", "_yaml",
    "hjson", "click", "argcomplete", "toml", "slugify", "text_unidecode", "requests",
    "charset_normalizer", "certifi", "setuptools", "pkg_resources", "_distutils_hack",
    "distutils-precedence.pth", "wheel", "pip",
    # email-validator imports dnspython only for deliverability checks, which
    # Emailhub never makes (no DNS at request time); nothing imports packaging.
    "dns", "packaging",
}
# Parts of libraries that nothing in the Lambda imports: every database
# backend but the dummy one (there is no relational database), contrib apps not in INSTALLED_APPS (GeoDjango also needs GDAL,
# which Lambda lacks), pydantic's v1 compatibility layer, werkzeug's
# interactive debugger, the unused ReDoc bundle and the JavaScript source maps
# of the API docs page.
UNUSED_PREFIXES = (
    "django/db/backends/mysql/", "django/db/backends/oracle/", "django/db/backends/postgresql/",
    "django/db/backends/sqlite3/", "django/contrib/postgres/", "django/contrib/sessions/migrations/",
    "django/contrib/gis/", "django/contrib/admindocs/", "django/contrib/flatpages/",
    "django/contrib/humanize/", "django/contrib/redirects/", "django/contrib/sitemaps/",
    "django/contrib/syndication/", "pydantic/v1/", "werkzeug/debug/",
    # The API docs page is Swagger UI; django-ninja's ReDoc bundle is never served.
    "ninja/static/ninja/redoc.",
)
# One-line changes to libraries' sources in the package, each behaving the same
# and cheaper at cold start. django-ninja's settings module takes Django's
# `setting_changed` signal from django.test.signals, which re-exports the very
# same object from django.core.signals but first imports all of django.test
# (unittest, the test client, xml.dom, wsgiref...): ~15-20 ms of every cold start.
SOURCE_PATCHES = {
    "ninja/conf.py": ("from django.test.signals import setting_changed",
                      "from django.core.signals import setting_changed  # patched by deploy/prebuild.py"),
}
# The package's own copy of Zappa needs only what handler.py imports.
ZAPPA_RUNTIME = {"__init__.py", "handler.py", "asgi.py", "middleware.py", "utilities.py", "wsgi.py", "ext"}
# Translations: the project runs in en-us only (LANGUAGE_CODE, no LocaleMiddleware).
_KEEP_LOCALE = re.compile(r"^en$")


def site_packages():
    venv = os.environ.get("VIRTUAL_ENV") or sys.prefix
    return Path(venv) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def precompile():
    """Compile the project and the virtualenv with checked-hash pycs."""
    targets = [ROOT / name for name in PROJECT_CODE] + [site_packages()]
    ok = True
    for target in targets:
        if target.is_file():
            ok &= bool(compileall.compile_file(
                str(target), quiet=2, force=True,
                invalidation_mode=compileall.py_compile.PycInvalidationMode.CHECKED_HASH))
        elif target.is_dir():
            ok &= bool(compileall.compile_dir(
                str(target), quiet=2, force=True, workers=0,
                invalidation_mode=compileall.py_compile.PycInvalidationMode.CHECKED_HASH))
    if not ok:
        raise SystemExit("compileall failed: a module in the package does not compile")
    print(f"Precompiled {', '.join(str(t) for t in targets)} (checked-hash .pyc)")


def dropped(name):
    """True for a zip entry the Lambda never loads."""
    parts = name.split("/")
    top = parts[0]
    if len(parts) > 1 and parts[-2] == "__pycache__" and parts[-1] == "__init__.py":
        # Zappa adds an empty __init__.py to every folder with subfolders,
        # __pycache__ included; Django's template-library scan then imports
        # each such "package".
        return True
    if top in DEPLOY_ONLY:
        return True
    if top == "zappa" and len(parts) > 1:
        entry = parts[1]
        if entry == "__pycache__" and len(parts) > 2:
            entry = parts[2].split(".")[0] + ".py"
        return entry not in ZAPPA_RUNTIME
    if top == "botocore" and len(parts) > 2 and parts[1] == "data" and "." not in parts[2]:
        return parts[2] not in BOTOCORE_SERVICES
    if top == "boto3" and len(parts) > 2 and parts[1] == "data":
        return parts[2] not in BOTO3_RESOURCES
    if name.startswith(UNUSED_PREFIXES):
        return True
    if top.endswith(".dist-info") and parts[-1] == "RECORD":
        return True  # the installer's file list; importlib.metadata reads METADATA
    if top == "ninja" and name.endswith(".map"):
        return True
    if "locale" in parts[:-1]:
        lang = parts[parts.index("locale") + 1]
        if top == "django" and not lang.startswith("__") and not lang.endswith(".py"):
            return not _KEEP_LOCALE.match(lang)
    return False


def patch_source(name, data):
    old, new = SOURCE_PATCHES[name]
    text = data.decode()
    if old not in text:  # the library changed: the patch must be looked at again
        raise SystemExit(f"{name}: the line deploy/prebuild.py patches is gone: {old!r}")
    return text.replace(old, new, 1).encode()


def _cached_name(name):
    folder, _, leaf = name.rpartition("/")
    return f"{folder + '/' if folder else ''}__pycache__/{leaf[:-3]}.{sys.implementation.cache_tag}.pyc"


def _write_pyc(target, info, data):
    """A checked-hash .pyc of `data` beside the zip entry `info`."""
    code = compile(data, info.filename, "exec", dont_inherit=True)
    pyc = importlib._bootstrap_external._code_to_hash_pyc(code, importlib.util.source_hash(data), True)
    entry = zipfile.ZipInfo(_cached_name(info.filename), date_time=info.date_time)
    entry.create_system, entry.external_attr = info.create_system, info.external_attr
    target.writestr(entry, bytes(pyc), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


def trim_zip(cli=None, path=None):
    """Rewrite the package without the entries `dropped` names; returns
    (entries removed, bytes before, bytes after)."""
    path = Path(path or cli.zip_path)
    before = path.stat().st_size
    removed = 0
    fd, temp = tempfile.mkstemp(suffix=".zip", dir=path.parent)
    os.close(fd)
    with zipfile.ZipFile(path) as source, \
            zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        patched_pycs = {_cached_name(name) for name in SOURCE_PATCHES}
        for info in source.infolist():
            if dropped(info.filename) or info.filename in patched_pycs:
                removed += info.filename not in patched_pycs
                continue
            data = source.read(info)
            if info.filename in SOURCE_PATCHES:
                data = patch_source(info.filename, data)
            # Same name, date (1980-01-01, as Zappa wrote it) and mode bits.
            # (writestr updates the ZipInfo it is given: hand it a copy.)
            target.writestr(copy.copy(info), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
        # Zappa writes handler.py, zappa_settings.py and django_zappa_app.py
        # into the zip itself, after the prebuild step: compile them too, and
        # the sources patched above.
        names = set(source.namelist())
        for info in source.infolist():
            name = info.filename
            if name in SOURCE_PATCHES:
                _write_pyc(target, info, patch_source(name, source.read(info)))
            elif "/" not in name and name.endswith(".py") and _cached_name(name) not in names:
                _write_pyc(target, info, source.read(info))
    os.replace(temp, path)
    after = path.stat().st_size
    print(f"Trimmed the package: {removed} files the Lambda never loads, "
          f"{before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB")
    return removed, before, after
