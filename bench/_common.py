"""Shared helpers of the benchmarks: paths, real servers (from tests/integration), stats and tables.

The servers are the ones the integration tests use: ``OpenBaoServer`` from servers_vault.py and the
``_server`` launcher of servers_cloud.py (moto_server, drongo), imported, not copied.
"""
import contextlib
import datetime
import importlib.metadata
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEGRATION = os.path.join(ROOT, "tests", "integration")
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
for _path in (INTEGRATION, COLLECTIONS):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import servers_cloud  # noqa: E402  pylint: disable=wrong-import-position
from servers_vault import OpenBaoServer  # noqa: E402  pylint: disable=wrong-import-position,unused-import


class _TmpFactory(object):
    """The one method of pytest's tmp_path_factory that servers_cloud._server uses."""

    def __init__(self, base):
        self.base = base

    def mktemp(self, name):
        return pathlib.Path(tempfile.mkdtemp(prefix=name + "-", dir=self.base))


@contextlib.contextmanager
def workdir(prefix="bench-"):
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o700)
    try:
        yield pathlib.Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def moto_server(base):
    with servers_cloud._server([servers_cloud._tool("moto_server"), "-H", "127.0.0.1", "-p", "{port}"],
                               "/moto-api/", _TmpFactory(str(base)), "moto") as url:
        yield url


@contextlib.contextmanager
def drongo_server(base):
    with servers_cloud._server([servers_cloud._tool("drongo"), "server", "--host", "127.0.0.1", "--port", "{port}"],
                               "/drongo/health", _TmpFactory(str(base)), "drongo") as url:
        yield url


@contextlib.contextmanager
def openbao_server():
    server = OpenBaoServer()
    try:
        yield server
    finally:
        server.cleanup()


def isolate_cloud_env():
    """Keep the operator's own AWS/GCP/Vault configuration out of the measurements."""
    google = ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT")
    for var in list(os.environ):
        if var.startswith(("AWS_", "VAULT_", "BAO_")) or var in google:
            del os.environ[var]
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# -- statistics -----------------------------------------------------------------------------------
def percentile(values, pct):
    """Nearest-rank percentile (pct in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(-(-pct * len(ordered) // 100)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def ratio(num, den):
    if not den:
        return "n/a"
    return "%.1fx" % (float(num) / den)


# -- output ---------------------------------------------------------------------------------------
def table(headers, rows):
    """A Markdown table, columns padded so it also reads well in a terminal."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    out = [line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def machine_header(title):
    """What a reader needs to compare runs: date, CPUs, load, versions."""
    load = os.getloadavg()
    bao = subprocess.run([servers_cloud._tool("bao"), "version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, check=False).stdout.strip().splitlines()
    lines = [
        "# %s" % title,
        "date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine: %s, %d CPU cores, Python %s" % (platform.platform(terse=True), os.cpu_count(),
                                                  platform.python_version()),
        "load average at start: %.2f %.2f %.2f" % load,
        "ansible-core %s, hvac %s, boto3 %s, %s" % (_version("ansible-core"), _version("hvac"), _version("boto3"),
                                                    bao[0] if bao else "bao ?"),
    ]
    return "\n".join(lines)
