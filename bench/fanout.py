"""Fan-out: one OpenBao secret handed to every host of a play, three ways, N = 1, 20, 100 hosts.

  naive     a lookup in the group vars of the inventory, evaluated per host when the host uses it
  run_once  the documented way: gateway_token_info with run_once + delegate_to localhost, registered
  set_fact  the lookup evaluated once in a run_once set_fact
  baseline  the same play with a constant instead of a secret (what Ansible itself costs)

Every play ends with the same task on every host (assert the value's SHA-256), so the per-host work
is the same. Measured: wall time of ansible-playbook (median of --repeat runs, cells interleaved)
and the reads OpenBao really received (its audit log). Hosts use ansible_connection=local.

    .venv/bin/python bench/fanout.py [--hosts 1,20,100] [--repeat 3,2,1]
"""
import argparse
import hashlib
import re
import secrets
import sys
import time

import yaml

import _common
from ansible_runner import run_playbook

SECRET = "bench/fanout-master"
LOOKUP = "{{ lookup('llmops.claude_gateway.gateway_token', secret_name, **store) }}"
CHECK = {"name": "Every host holds the value", "ansible.builtin.assert": {
    "quiet": True, "that": ["gw_token | hash('sha256') == want_sha"]}}
STRATEGIES = ("naive", "run_once", "set_fact", "baseline")


def inventory(path, hosts, naive):
    group = {"hosts": dict(("h%03d" % i, {"ansible_connection": "local"}) for i in range(1, hosts + 1))}
    if naive:
        # The naive way: every host that uses gw_token evaluates the lookup again.
        group["vars"] = {"gw_token": LOOKUP}
    path.write_text(yaml.safe_dump({"all": {"children": {"fleet": group}}}, sort_keys=False))
    return str(path)


def play(strategy):
    """One play per strategy; all end with CHECK on every host, so only the way of reading differs."""
    tasks, play_vars = [], {}
    if strategy == "run_once":
        tasks = [{"name": "Read the secret once on the controller",
                  "llmops.claude_gateway.gateway_token_info": "{{ store | combine({'name': secret_name}) }}",
                  "delegate_to": "localhost", "run_once": True, "register": "master"}]
        play_vars = {"gw_token": "{{ master.value }}"}  # a registered run_once result is set on every host
    elif strategy == "set_fact":
        tasks = [{"name": "Read the secret once (lookup in a run_once set_fact)",
                  "ansible.builtin.set_fact": {"gw_token": LOOKUP}, "run_once": True, "no_log": True}]
    elif strategy == "baseline":
        tasks = [{"name": "A constant, no secret store (run_once set_fact)",
                  "ansible.builtin.set_fact": {"gw_token": "{{ constant }}"}, "run_once": True, "no_log": True}]
    return [{"name": "Fan-out (%s)" % strategy, "hosts": "fleet", "gather_facts": False, "vars": play_vars,
             "tasks": tasks + [CHECK]}]


def run_one(server, base, strategy, hosts, extra_vars, tag):
    tmp = base / ("%s-%d-%s" % (strategy, hosts, tag))
    tmp.mkdir()
    inv = inventory(tmp / "hosts.yml", hosts, strategy == "naive")
    before = server.count_reads(SECRET)
    start = time.perf_counter()
    result = run_playbook(tmp, play(strategy), extra_vars, inventory=inv, name="fanout")
    elapsed = time.perf_counter() - start
    reads = server.count_reads(SECRET) - before
    failed = re.findall(r"^h\d+ +: ok=\d+ +changed=\d+ +unreachable=0 +failed=0", result.output, re.M)
    if result.rc != 0 or len(failed) != hosts:
        sys.exit("%s over %d hosts failed:\n%s" % (strategy, hosts, result.output[-4000:]))
    return elapsed, reads


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--hosts", default="1,20,100", help="comma-separated host counts (default 1,20,100)")
    parser.add_argument("--repeat", default="3,2,1",
                        help="runs per cell, one number or one per host count; the median is shown (default 3,2,1)")
    args = parser.parse_args()
    counts = [int(n) for n in args.hosts.split(",")]
    repeats = [int(n) for n in args.repeat.split(",")]
    repeats = dict(zip(counts, repeats * len(counts) if len(repeats) == 1 else repeats))
    if len(repeats) != len(counts):
        parser.error("--repeat needs one number, or one per host count")
    _common.isolate_cloud_env()
    print(_common.machine_header("Fan-out of one OpenBao secret to N hosts"))
    print("ansible-playbook, ansible_connection=local, forks=10; runs per cell: %s; median shown\n"
          % ", ".join("%d hosts x%d" % (n, repeats[n]) for n in counts))
    value = "sk-" + secrets.token_hex(24)
    started = time.perf_counter()
    times, reads = {}, {}
    with _common.workdir("bench-fanout-") as base, _common.openbao_server() as server:
        store = dict((k, v) for k, v in server.options().items() if v is not None)
        server.client().secrets.kv.v2.create_or_update_secret(path=SECRET, secret={"value": value})
        extra_vars = {"store": store, "secret_name": SECRET, "constant": value,
                      "want_sha": hashlib.sha256(value.encode()).hexdigest()}
        # Interleaved: each repeat runs every cell once, so background load spreads over all of them.
        for rep in range(max(repeats.values())):
            for hosts in [n for n in counts if repeats[n] > rep]:
                for strategy in STRATEGIES:
                    elapsed, n = run_one(server, base, strategy, hosts, extra_vars, str(rep))
                    times.setdefault((strategy, hosts), []).append(elapsed)
                    reads.setdefault((strategy, hosts), []).append(n)
    rows = []
    for hosts in counts:
        for strategy in STRATEGIES:
            cell = times[(strategy, hosts)]
            got = reads[(strategy, hosts)]
            rows.append([hosts, strategy, "%.2f" % _common.median(cell), "%.2f-%.2f" % (min(cell), max(cell)),
                         got[0] if len(set(got)) == 1 else "/".join(map(str, got))])
    print(_common.table(["hosts", "strategy", "wall s (median)", "wall s (min-max)", "OpenBao reads"], rows))
    print()
    summary = []
    for hosts in counts:
        t_naive, t_once = _common.median(times[("naive", hosts)]), _common.median(times[("run_once", hosts)])
        t_fact, t_base = _common.median(times[("set_fact", hosts)]), _common.median(times[("baseline", hosts)])
        r_naive, r_once = max(reads[("naive", hosts)]), max(reads[("run_once", hosts)])
        summary.append([hosts, _common.ratio(t_naive, t_once), _common.ratio(r_naive, r_once),
                        "%+.2f" % (t_naive - t_base), "%+.2f" % (t_once - t_base), "%+.2f" % (t_fact - t_base)])
    print(_common.table(["hosts", "time naive/run_once", "reads naive/run_once", "naive - baseline s",
                         "run_once - baseline s", "set_fact - baseline s"], summary))
    print("\ntotal benchmark time: %.0f s" % (time.perf_counter() - started))


if __name__ == "__main__":
    main()
