"""Bad-input tests that prove nothing changed: snapshot probes, the named error, per-case attribution.

A *probe* reads the state a failing task could change, through the store's own client, never through
the collection's code. Every probe has a ``name`` and a ``snapshot()`` that returns plain data (dicts,
lists, strings) where secret values appear only as sha256 digests, so a failing comparison never prints
a value. Probes:

    VaultKVProbe(client, mount="secret")        every KV v2 secret under the mount: metadata versions
                                                (created/deleted/destroyed), current version, custom
                                                metadata, and the digest of the current data (hvac)
    AwsSecretsProbe(client)                     every secret: version ids with their staging labels,
                                                tags, the digest of AWSCURRENT (boto3)
    GcpSecretsProbe(client, project)            every secret: labels, versions with their states, the
                                                digest of the newest enabled version (official client)
    FilesProbe(paths)                           a recursive lstat walk: type, mode, owner, size, sha256
                                                of regular files, target of links, absent paths; a
                                                local store is a FilesProbe of its file
    SystemdProbe(units)                         ActiveState/SubState/UnitFileState/FragmentPath/MainPID
                                                of units (systemctl show), for role-level tests

Use, for one run (a role, an attack):

    probes = [VaultKVProbe(openbao_server.client()), FilesProbe([tmp_path / "store.yml"])]
    with unchanged(probes, "retire 0 on a new secret"):
        run = run_playbook(...)
    assert_named_error(run.output, ["'retire' must keep at least 1 version"], hidden=[token])

or, for many module cases with each change attributed to its case (one playbook per scope, the
scopes in parallel, a snapshot of the scope's probes between two cases):

    cases = [Case("retire 0 (vault)", {"llmops.claude_gateway.gateway_token": dict(vault, name="n",
                  generate=True, retire=0)}, ["'retire' must keep at least 1 version"], "bad_configuration",
                  scope="vault")]
    run_cases(tmp_path, cases, {"vault": [VaultKVProbe(client)]}, hidden=[token])

A new probe (e.g. a database's tables, a container's files) is any object with ``name`` and
``snapshot()``.
"""
import concurrent.futures
import hashlib
import json
import os
import re
import stat
import subprocess
import threading
import time

from ansible_runner import run_playbook

_MISSING = "<absent>"


def digest(value):
    if value is None:
        return None
    if not isinstance(value, (bytes, bytearray)):
        value = json.dumps(value, sort_keys=True).encode("utf-8") if not isinstance(value, str) \
            else value.encode("utf-8")
    return "sha256:" + hashlib.sha256(value).hexdigest()


# -- probes -----------------------------------------------------------------------------------------
class Probe(object):
    """Interface: ``name`` and ``snapshot()`` (comparable plain data, values only as digests)."""

    name = "probe"

    def snapshot(self):
        raise NotImplementedError


class VaultKVProbe(Probe):
    """KV v2 under ``mount``: metadata (versions and their times) and the current data's digest."""

    def __init__(self, client, mount="secret", name=None):
        self.client, self.mount = client, mount
        self.name = name or "vault:%s" % mount

    def _paths(self, prefix=""):
        import hvac

        try:
            keys = self.client.secrets.kv.v2.list_secrets(path=prefix, mount_point=self.mount)["data"]["keys"]
        except hvac.exceptions.InvalidPath:
            return []
        out = []
        for key in keys:
            if key.endswith("/"):
                out += self._paths(prefix + key)
            else:
                out.append(prefix + key)
        return out

    def snapshot(self):
        kv = self.client.secrets.kv.v2
        state = {}
        for path in sorted(self._paths()):
            meta = kv.read_secret_metadata(path=path, mount_point=self.mount)["data"]
            versions = dict((number, {"created": v.get("created_time"), "deleted": v.get("deletion_time") or None,
                                      "destroyed": v.get("destroyed")})
                            for number, v in meta["versions"].items())
            current = None
            live = versions.get(str(meta["current_version"])) or {}
            if not live.get("deleted") and not live.get("destroyed"):
                data = kv.read_secret_version(path=path, mount_point=self.mount, raise_on_deleted_version=False)
                current = digest((data.get("data") or {}).get("data"))
            state[path] = {"current_version": meta["current_version"], "oldest_version": meta["oldest_version"],
                           "custom_metadata": meta.get("custom_metadata"), "cas_required": meta.get("cas_required"),
                           "max_versions": meta.get("max_versions"), "versions": versions, "current": current}
        return state


class AwsSecretsProbe(Probe):
    """Every secret (deleted ones too): version ids with stages, tags, AWSCURRENT's digest (boto3)."""

    name = "aws:secretsmanager"

    def __init__(self, client):
        self.client = client

    def snapshot(self):
        state = {}
        pages = self.client.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
        for page in pages:
            for entry in page["SecretList"]:
                name = entry["Name"]
                ids = self.client.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
                versions = dict((v["VersionId"], sorted(v.get("VersionStages") or [])) for v in ids)
                current = None
                if not entry.get("DeletedDate") and any("AWSCURRENT" in s for s in versions.values()):
                    value = self.client.get_secret_value(SecretId=name, VersionStage="AWSCURRENT")
                    current = digest(value.get("SecretString") or value.get("SecretBinary"))
                state[name] = {"versions": versions, "current": current, "deleted": str(entry.get("DeletedDate")),
                               "tags": sorted((t["Key"], t["Value"]) for t in entry.get("Tags") or []),
                               "description": entry.get("Description")}
        return state


class GcpSecretsProbe(Probe):
    """Every secret of ``project``: labels, versions with states, the newest enabled version's digest."""

    def __init__(self, client, project):
        self.client, self.project = client, project
        self.name = "gcp:%s" % project

    def snapshot(self):
        state = {}
        for secret in self.client.list_secrets(request={"parent": "projects/%s" % self.project}):
            versions = {}
            newest = None
            for version in self.client.list_secret_versions(request={"parent": secret.name}):
                number = version.name.rsplit("/", 1)[1]
                versions[number] = version.state.name
                if version.state.name == "ENABLED" and (newest is None or int(number) > int(newest)):
                    newest = number
            current = None
            if newest is not None:
                current = digest(self.client.access_secret_version(
                    request={"name": "%s/versions/%s" % (secret.name, newest)}).payload.data)
            state[secret.name.rsplit("/", 1)[1]] = {"labels": dict(secret.labels), "versions": versions,
                                                    "current": current}
        return state


class FilesProbe(Probe):
    """Files and trees under ``paths`` (links not followed): type, mode, owner, size, sha256, link target."""

    def __init__(self, paths, name=None):
        self.paths = [str(p) for p in paths]
        self.name = name or "files:%s" % ",".join(self.paths)

    @staticmethod
    def _entry(path):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return _MISSING
        entry = {"type": stat.S_IFMT(info.st_mode), "mode": oct(stat.S_IMODE(info.st_mode)),
                 "uid": info.st_uid, "gid": info.st_gid, "ino": info.st_ino, "nlink": info.st_nlink}
        if stat.S_ISREG(info.st_mode):
            entry["size"] = info.st_size
            with open(path, "rb") as handle:
                entry["sha256"] = digest(handle.read())
        elif stat.S_ISLNK(info.st_mode):
            entry["target"] = os.readlink(path)
        return entry

    def snapshot(self):
        state = {}
        for root in self.paths:
            state[root] = self._entry(root)
            if os.path.isdir(root) and not os.path.islink(root):
                for dirpath, dirnames, filenames in os.walk(root):
                    for name in sorted(dirnames + filenames):
                        full = os.path.join(dirpath, name)
                        state[full] = self._entry(full)
        return state


class SystemdProbe(Probe):
    """Units' state from ``systemctl show`` (for role tests on a host with systemd)."""

    PROPERTIES = ("LoadState", "ActiveState", "SubState", "UnitFileState", "FragmentPath", "MainPID",
                  "NRestarts", "DropInPaths")

    def __init__(self, units, systemctl=("systemctl",)):
        self.units, self.systemctl = list(units), list(systemctl)
        self.name = "systemd:%s" % ",".join(self.units)

    def snapshot(self):
        state = {}
        for unit in self.units:
            out = subprocess.run(self.systemctl + ["show", unit, "-p", ",".join(self.PROPERTIES)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                 check=False).stdout
            state[unit] = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return state


# -- snapshots and assertions -----------------------------------------------------------------------
def take(probes):
    return dict((probe.name, probe.snapshot()) for probe in probes)


def differences(before, after):
    """Human-readable differences between two snapshots (``take``), values only as digests."""
    out = []
    for probe in sorted(set(before) | set(after)):
        old, new = before.get(probe, {}), after.get(probe, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key, _MISSING) != new.get(key, _MISSING):
                out.append("%s %s: %s -> %s" % (probe, key, json.dumps(old.get(key, _MISSING), sort_keys=True),
                                                json.dumps(new.get(key, _MISSING), sort_keys=True)))
    return out


def assert_same(before, after, what):
    changed = differences(before, after)
    assert not changed, "%s changed state:\n  %s" % (what, "\n  ".join(changed))


class unchanged(object):
    """``with unchanged(probes, what):`` asserts every probe's snapshot is the same after the block."""

    def __init__(self, probes, what="the run"):
        self.probes, self.what = list(probes), what

    def __enter__(self):
        self.before = take(self.probes)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            assert_same(self.before, take(self.probes), self.what)
        return False


def assert_named_error(text, rule, error_kind=None, result=None, hidden=(), what="case"):
    """``text`` (a message or a run's output) holds every regex of ``rule`` (the words of the rule that
    failed, never just "Fix:"); ``result['error_kind']`` (when a module result is given) is ``error_kind``;
    no value of ``hidden`` appears."""
    rules = [rule] if isinstance(rule, str) else list(rule)
    assert rules and all(r.strip() not in ("Fix:", "Fix") for r in rules), "%s: name the rule, not just Fix:" % what
    for pattern in rules:
        assert re.search(pattern, text), "%s: %r not in the message:\n%s" % (what, pattern, text[-3000:])
    if result is not None:
        assert result.get("error_kind") == error_kind, "%s: error_kind %r, expected %r (%s)" % (
            what, result.get("error_kind"), error_kind, result.get("msg"))
    for value in hidden:
        assert value not in text, "%s: a secret value is in the message" % what


# -- many module cases in one playbook, each change attributed to its case ---------------------------
class Case(object):
    """One failing task. ``task``: the task body (e.g. ``{"llmops.claude_gateway.gateway_token": {...}}``);
    ``rule``: regexes the message must hold; ``error_kind``: expected (None = a failure before the module's
    own checks, e.g. the argument spec, which sets none); ``scope``: the key of ``run_cases``' probes that
    see what this case could change (its store)."""

    def __init__(self, title, task, rule, error_kind, scope=None):
        self.title, self.task, self.rule, self.error_kind, self.scope = title, task, rule, error_kind, scope


_CHECKPOINT = ("touch {dir}/ready.{n} && i=0 && while [ ! -e {dir}/ack.{n} ]; do "
               "i=$((i+1)); [ $i -gt 6000 ] && exit 1; sleep 0.01; done && echo {n}")


def _checkpoint(sync_dir, number):
    # A pipe lookup runs in the controller process (no module): it tells the test that everything before
    # it is done and waits until the test has taken its snapshot.
    return "{{ lookup('ansible.builtin.pipe', %r) }}" % _CHECKPOINT.format(dir=sync_dir, n=number)


def _record(number, outcome):
    return "{{ case_results | default({}) | combine({'%d': %s}) }}" % (number, outcome)


def _group_playbook(cases, numbers, sync_dir, results_file):
    tasks = [{"name": "checkpoint 0", "ansible.builtin.debug": {"msg": _checkpoint(sync_dir, 0)}}]
    for position, number in enumerate(numbers):
        after = _checkpoint(sync_dir, position + 1)
        tasks.append({"name": "case %d: %s" % (number, cases[number].title), "block": [
            dict(cases[number].task, name="run"),
            {"name": "must have failed", "ansible.builtin.set_fact": {
                "case_results": _record(number, "{'msg': 'case did not fail'}"), "checkpoint": after}},
        ], "rescue": [
            {"name": "record", "ansible.builtin.set_fact": {
                "case_results": _record(number, "{'msg': ansible_failed_result.msg | default(''), 'failed': true, "
                                                "'error_kind': ansible_failed_result.error_kind | default(none)}"),
                "checkpoint": after}},
        ]})
    tasks.append({"name": "hand the results to the test", "ansible.builtin.copy": {
        "content": "{{ case_results | to_json }}", "dest": results_file, "mode": "0600"}})
    return [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]


def run_cases(tmp_path, cases, probes, hidden=(), env=None, name="bad-inputs"):
    """Run the cases in ONE ansible-playbook per scope, the scopes concurrently; snapshot the scope's
    probes at a checkpoint before and after each case; then assert per case: it failed, the named error
    (rule + error_kind), no ``hidden`` value in its message, and that nothing its probes see changed while
    it ran. ``probes``: ``{scope: [probe, ...]}`` (or a plain list: one scope, one playbook).

    Attribution is exact: the cases of one scope run one after the other, and no other run touches that
    scope's store (a case's backend options bind it to one store). A change a case makes outside its own
    scope is still caught, by a snapshot of every probe before and after all runs. Returns the failure
    results (dicts) in case order. Cost: one controller-side task per case on top of the case's own task
    (the checkpoint rides on the task that records the result) and one snapshot of its scope per case."""
    if not isinstance(probes, dict):
        probes = {None: list(probes)}
    unknown = set(case.scope for case in cases) - set(probes)
    assert not unknown, "cases with a scope that has no probes: %r" % sorted(unknown, key=str)
    members = [(scope, [n for n, case in enumerate(cases) if case.scope == scope]) for scope in probes]
    members = [(scope, numbers) for scope, numbers in members if numbers]
    everything = [probe for scope in probes for probe in probes[scope]]
    lock = threading.Lock()  # one snapshot at a time: store clients may be shared between scopes
    stop = threading.Event()
    errors, snapshots = [], {}  # snapshots[(scope, position)]

    def follow(scope, numbers, sync_dir):
        try:
            for position in range(len(numbers) + 1):
                ready = os.path.join(sync_dir, "ready.%d" % position)
                deadline = time.time() + 300
                while not os.path.exists(ready):
                    if stop.is_set() or time.time() > deadline:
                        return
                    time.sleep(0.005)
                with lock:
                    snapshots[(scope, position)] = take(probes[scope])
                open(os.path.join(sync_dir, "ack.%d" % position), "w").close()
        except Exception as exc:  # reported by the test; the playbook's checkpoint gives up
            errors.append(exc)

    def run_group(index, scope, numbers):
        directory = tmp_path / ("%s-%d" % (name, index))
        sync_dir = str(directory / "checkpoints")
        os.makedirs(sync_dir)
        results_file = str(directory / "case-results.json")
        thread = threading.Thread(target=follow, args=(scope, numbers, sync_dir), daemon=True)
        thread.start()
        try:
            run = run_playbook(directory, _group_playbook(cases, numbers, sync_dir, results_file), env=env, name=name)
        finally:
            thread.join(20)
        results = {}
        if os.path.exists(results_file):
            with open(results_file) as handle:
                results = json.load(handle)
        return run, results

    before_all = take(everything)
    pool = concurrent.futures.ThreadPoolExecutor(len(members))
    try:
        outcomes = list(pool.map(lambda item: run_group(item[0], *item[1]), enumerate(members)))
    finally:
        stop.set()
        pool.shutdown(wait=True)
    after_all = take(everything)
    assert not errors, "snapshot failed: %r" % errors
    results = {}
    for run, group_results in outcomes:
        assert run.rc == 0, run
        for value in hidden:
            assert value not in run.output and value not in run.log, "a secret value is in the playbook output"
        results.update(group_results)
    problems = []
    for scope, numbers in members:
        for position, number in enumerate(numbers):
            case = cases[number]
            what = "case %d (%s)" % (number, case.title)
            result = results.get(str(number), {})
            try:  # every case is checked; the failures are reported together
                assert result.get("failed"), "%s did not fail" % what
                assert_named_error(result["msg"], case.rule, case.error_kind, result=result, hidden=hidden, what=what)
                assert_same(snapshots[(scope, position)], snapshots[(scope, position + 1)], what)
            except AssertionError as exc:
                problems.append(str(exc))
    if not problems:  # a change outside a case's own scope
        try:
            assert_same(before_all, after_all, "a case (outside its own scope)")
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n\n".join(problems)
    return [results[str(n)] for n in range(len(cases))]
