"""Per-call latency of every secret backend through the Python API, side by side in one run.

Backends: local (plain YAML), local (ansible-vault encrypted), vault (OpenBao dev server),
aws (moto_server), gcp (drongo, REST). All servers run on 127.0.0.1, so the numbers are the cost of
the client stack and the server software, not of a network: a real cloud adds its round trip.

Measured, calls interleaved across backends so background load hits all of them alike:
  read        --calls reads of one of 10 seeded secrets, on a warm backend object (client reused)
  write       --calls writes (each a new version of one of the 10 secrets; the local files are put
              back to their 10-secret state, untimed, before each write, so their size stays the same)
  first read  a new backend object, then one read: what every per-host lookup pays beyond imports
  PBKDF2      the key derivation of the encrypted local store (10000 rounds), once per file open
  fleet       reads and writes of a local store holding --fleet secrets x 2 versions
  import      python -c 'import ...' in a fresh process: what every module run pays before any call

    .venv/bin/python bench/backends.py [--calls 200]
"""
import argparse
import os
import secrets
import subprocess
import sys
import time

import yaml

import _common
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import ansible_vault_file as vault_format
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import get_backend

NAMES = ["bench-s%02d" % i for i in range(10)]
FLOOR_CALLS = 30
FLEET_CALLS = 3
COMMON = {"retries": 0, "timeout": 10}
_PKG = "ansible_collections.llmops.claude_gateway.plugins.module_utils._backends."
IMPORTS = [
    ("ansible.module_utils.basic (floor: any module)", "import ansible.module_utils.basic"),
    ("+ _backends.local", "import ansible.module_utils.basic, %slocal" % _PKG),
    ("+ _backends.vault (hvac)", "import ansible.module_utils.basic, %svault" % _PKG),
    ("+ _backends.aws (boto3)", "import ansible.module_utils.basic, %saws" % _PKG),
    ("+ _backends.gcp (google-cloud-secret-manager)", "import ansible.module_utils.basic, %sgcp" % _PKG),
    ("+ _backends.factory (imports all four)", "import ansible.module_utils.basic, %sfactory" % _PKG),
]


def ms(seconds):
    return "%.2f" % (seconds * 1000.0)


def backend_options(base, vault, moto, drongo):
    password = "bench-" + secrets.token_hex(16)
    return [
        ("local plain", dict(COMMON, backend="local", local_path=str(base / "plain" / "secrets.yml"))),
        ("local encrypted", dict(COMMON, backend="local", local_path=str(base / "enc" / "secrets.yml"),
                                 local_vault_password=password)),
        ("vault (OpenBao)", dict((k, v) for k, v in vault.options(**COMMON).items() if v is not None)),
        ("aws (moto)", dict(COMMON, backend="aws", aws_region="us-east-1", aws_endpoint_url=moto,
                            aws_access_key_id="testing", aws_secret_access_key="testing")),
        ("gcp (drongo)", dict(COMMON, backend="gcp", gcp_project="bench", gcp_transport="rest",
                              gcp_api_endpoint=drongo)),
    ]


def timed(func, *args):
    start = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - start, result


def interleaved(backends, calls, op, prepare=None):
    """``op(label, backend, i)`` for i in range(calls), one call per backend per round; seconds per label.

    ``prepare(label, backend, i)``, when given, runs untimed before each call.
    """
    samples = dict((label, []) for label, _unused in backends)
    for i in range(calls):
        for label, backend in backends:
            if prepare:
                prepare(label, backend, i)
            samples[label].append(timed(op, label, backend, i)[0])
    return samples


def grow_store(backend, secrets_count, value):
    """Fill a local store with ``secrets_count`` secrets of 2 versions each, in one save (untimed setup)."""
    store = backend._load()  # pylint: disable=protected-access
    for i in range(secrets_count):
        store["client-%04d" % i] = {"versions": [
            {"version": n, "created": "2026-01-0%dT00:00:00Z" % n, "state": "enabled", "value": value + str(n)}
            for n in (1, 2)]}
    backend._save(store)  # pylint: disable=protected-access


def transport_floors(vault, moto, drongo):
    """The servers' own floor: a trivial GET on a kept-alive and on a new connection."""
    import requests

    targets = [("OpenBao /v1/sys/health", vault.url + "/v1/sys/health"), ("moto /moto-api/", moto + "/moto-api/"),
               ("drongo /drongo/health", drongo + "/drongo/health")]
    found = []
    for label, url in targets:
        session = requests.Session()
        keep = [timed(session.get, url)[0] for _round in range(FLOOR_CALLS)]
        fresh = [timed(requests.get, url)[0] for _round in range(FLOOR_CALLS)]
        found.append((label, keep, fresh))
    return found


def import_costs(rounds):
    samples = dict((label, []) for label, _unused in IMPORTS)
    for _round in range(rounds):
        for label, code in IMPORTS:
            elapsed, proc = timed(subprocess.run, [sys.executable, "-c", code])
            if proc.returncode:
                sys.exit("import failed: %s" % code)
            samples[label].append(elapsed)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--calls", type=int, default=200, help="reads and writes per backend (default 200)")
    parser.add_argument("--first", type=int, default=30, help="new-client first reads per backend (default 30)")
    parser.add_argument("--import-rounds", type=int, default=3, help="fresh-process imports per row (default 3)")
    parser.add_argument("--fleet", type=int, default=1000, help="secrets in the fleet-size local store (default 1000)")
    args = parser.parse_args()
    _common.isolate_cloud_env()
    os.environ["PYTHONPATH"] = _common.COLLECTIONS  # for the fresh-process import rows
    print(_common.machine_header("Secret backends: per-call latency through the Python API"))
    print("%d reads and %d writes per backend, interleaved; servers on 127.0.0.1; times in ms\n"
          % (args.calls, args.calls))
    started = time.perf_counter()
    with _common.workdir("bench-backends-") as base, _common.openbao_server() as vault, \
            _common.moto_server(base) as moto, _common.drongo_server(base) as drongo:
        configs = backend_options(base, vault, moto, drongo)
        backends = [(label, get_backend(options)) for label, options in configs]
        expected = {}
        for label, backend in backends:
            for name in NAMES:
                expected[(label, name)] = "gw-" + secrets.token_hex(20)
                backend.write(name, expected[(label, name)])
            for name in NAMES:  # warm: client created, logged in, connection open
                backend.read(SecretRef(name))

        def read(label, backend, i):
            name = NAMES[i % len(NAMES)]
            if backend.read(SecretRef(name)).value != expected[(label, name)]:
                sys.exit("%s returned a wrong value for %s" % (label, name))

        def write(label, backend, i):
            name = NAMES[i % len(NAMES)]
            expected[(label, name)] = "gw-" + secrets.token_hex(20)
            backend.write(name, expected[(label, name)])

        def first_read(label, _backend, i):
            read(label, get_backend(dict(configs)[label]), i)

        snapshots, seeded = {}, dict(expected)
        for label, options in configs:
            if options["backend"] == "local":
                with open(options["local_path"], "rb") as handle:
                    snapshots[label] = handle.read()

        def restore(label, _backend, _i):
            # Local writes rewrite the whole file: keep its size constant (10 secrets, 1 version each).
            if label in snapshots:
                with open(dict(configs)[label]["local_path"], "wb") as handle:
                    handle.write(snapshots[label])
                expected.update((key, value) for key, value in seeded.items() if key[0] == label)

        reads = interleaved(backends, args.calls, read)
        firsts = interleaved(backends, args.first, first_read)
        floors = transport_floors(vault, moto, drongo)
        writes = interleaved(backends, args.calls, write, restore)
        # A local store the size of a fleet: one token per client, 2 versions each (after rotation).
        locals_only = [(label, backend) for label, backend in backends if label in snapshots]
        for label, backend in locals_only:
            grow_store(backend, args.fleet, "gw-" + secrets.token_hex(20))
        fleet_reads = interleaved(locals_only, FLEET_CALLS, read)
        fleet_writes = interleaved(locals_only, FLEET_CALLS, write)
        store_sizes = dict((label, os.path.getsize(dict(configs)[label]["local_path"])) for label, _unused in locals_only)
        with open(dict(configs)["local plain"]["local_path"]) as handle:
            text = handle.read()
        parse_py = [timed(yaml.safe_load, text)[0] for _round in range(FLEET_CALLS)]
        parse_c = [timed(yaml.load, text, yaml.CSafeLoader)[0] for _round in range(FLEET_CALLS)]
        password = dict(configs)["local encrypted"]["local_vault_password"].encode()
        salt = os.urandom(32)
        pbkdf2 = [timed(vault_format._keys, password, salt)[0] for _round in range(args.calls)]  # pylint: disable=protected-access
    imports = import_costs(args.import_rounds)

    base_read = _common.median(reads["local plain"])
    base_write = _common.median(writes["local plain"])
    base_first = _common.median(firsts["local plain"])
    rows = []
    for label, _unused in backends:
        r, w, f = reads[label], writes[label], firsts[label]
        rows.append([label, ms(_common.median(r)), ms(_common.percentile(r, 95)),
                     _common.ratio(_common.median(r), base_read),
                     ms(_common.median(w)), ms(_common.percentile(w, 95)),
                     _common.ratio(_common.median(w), base_write),
                     ms(_common.median(f)), _common.ratio(_common.median(f), base_first)])
    print(_common.table(["backend", "read median", "read p95", "read vs local plain", "write median", "write p95",
                         "write vs local plain", "first read (new client)", "first vs local plain"], rows))

    print("\nEncrypted local store (ansible-vault AES256, PBKDF2-HMAC-SHA256 10000 rounds per file open)\n")
    derive = _common.median(pbkdf2)
    plain_r, enc_r = base_read, _common.median(reads["local encrypted"])
    plain_w, enc_w = base_write, _common.median(writes["local encrypted"])
    rows = [
        ["one PBKDF2 derivation", ms(derive), ""],
        ["read: encrypted - plain (1 derivation)", ms(enc_r - plain_r), _common.ratio(enc_r, plain_r)],
        ["write: encrypted - plain (2 derivations)", ms(enc_w - plain_w), _common.ratio(enc_w, plain_w)],
    ]
    print(_common.table(["what", "ms", "ratio"], rows))

    print("\nLocal store the size of a fleet: %d secrets x 2 versions (median of %d calls; ms)\n"
          % (args.fleet, FLEET_CALLS))
    rows = []
    for label, _unused in locals_only:
        f_r, f_w = _common.median(fleet_reads[label]), _common.median(fleet_writes[label])
        rows.append(["%s (%d KiB)" % (label, store_sizes[label] // 1024), ms(f_r),
                     _common.ratio(f_r, _common.median(reads[label])), ms(f_w),
                     _common.ratio(f_w, _common.median(writes[label]))])
    print(_common.table(["store", "read", "read vs 10 secrets", "write", "write vs 10 secrets"], rows))
    print()
    rows = [["yaml.safe_load (what the store uses)", ms(_common.median(parse_py)), "1.0x"],
            ["yaml.CSafeLoader (libyaml, installed here)", ms(_common.median(parse_c)),
             _common.ratio(_common.median(parse_py), _common.median(parse_c)) + " faster"]]
    print(_common.table(["parse the plain fleet-size file with", "ms", "ratio"], rows))

    print("\nTransport floor: a trivial GET per server, no secret layer (median of %d; ms)\n" % FLOOR_CALLS)
    rows = [[label, ms(_common.median(keep)), ms(_common.median(fresh))] for label, keep, fresh in floors]
    print(_common.table(["server", "kept-alive connection", "new connection"], rows))

    print("\nImport cost in a fresh Python process (every module run pays it once; median of %d)\n"
          % args.import_rounds)
    floor = _common.median(imports[IMPORTS[0][0]])
    rows = [[label, ms(_common.median(imports[label])), "%+.0f" % ((_common.median(imports[label]) - floor) * 1000)]
            for label, _unused in IMPORTS]
    print(_common.table(["import", "ms", "ms over floor"], rows))
    print("\ntotal benchmark time: %.0f s" % (time.perf_counter() - started))


if __name__ == "__main__":
    main()
