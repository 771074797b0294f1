# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-side view of the OpenBao store and the gateway (controller; prints no secret value).

  store_probe.py STATE_DIR versions                 -> {secret: {current, enabled: [...], sha256}}
  store_probe.py STATE_DIR snapshot NAME            -> saves the current values to STATE_DIR/snap-NAME.json (0600)
  store_probe.py STATE_DIR gateway URL BEFORE AFTER -> every value of snapshot BEFORE that is not in AFTER must get
                                                       401 at URL/v1/models, every value of AFTER 200
  store_probe.py STATE_DIR leakscan FILE...         -> counts of every secret the scenario ever held (all
                                                       versions, snapshots, provider keys, the store's token)
                                                       in each file; prints only names and counts
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

import hvac


def client(state_dir):
    with open(os.path.join(state_dir, "servers.json")) as handle:
        state = json.load(handle)
    return hvac.Client(url=state["bao_url"], token=state["bao_token"]), state


def secrets_of(kv):
    return kv.secrets.kv.v2.list_secrets(path="", mount_point="secret")["data"]["keys"]


def value_of(data):
    return data["data"]["data"]["value"] if "value" in data["data"]["data"] else json.dumps(data["data"]["data"])


def versions(kv):
    out = {}
    for name in secrets_of(kv):
        meta = kv.secrets.kv.v2.read_secret_metadata(path=name, mount_point="secret")["data"]
        enabled = sorted((int(v) for v, d in meta["versions"].items() if not d["deletion_time"] and not d["destroyed"]),
                         reverse=True)
        current = kv.secrets.kv.v2.read_secret_version(path=name, mount_point="secret", raise_on_deleted_version=True)
        out[name] = {"current": str(current["data"]["metadata"]["version"]), "enabled": [str(v) for v in enabled],
                     "sha256": hashlib.sha256(value_of(current).encode()).hexdigest()}
    return out


def current_values(kv):
    out = {}
    for name in secrets_of(kv):
        out[name] = value_of(kv.secrets.kv.v2.read_secret_version(path=name, mount_point="secret",
                                                                  raise_on_deleted_version=True))
    return out


def status(url, token, context=None):
    req = urllib.request.Request(url.rstrip("/") + "/v1/models", headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=20, context=context) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def main():
    state_dir, command = sys.argv[1], sys.argv[2]
    kv, state = client(state_dir)
    if command == "versions":
        print(json.dumps(versions(kv)))
    elif command == "snapshot":
        path = os.path.join(state_dir, "snap-%s.json" % sys.argv[3])
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(current_values(kv), handle)
        print(json.dumps({"saved": sys.argv[3]}))
    elif command == "gateway":
        url = sys.argv[3]
        snaps = []
        for name in sys.argv[4:6]:
            with open(os.path.join(state_dir, "snap-%s.json" % name)) as handle:
                snaps.append(json.load(handle))
        before, after = snaps
        # The gateway serves TLS with a certificate of the scenario's test CA (prepare.yml, make_pki.py).
        context = ssl.create_default_context(cafile=os.path.join(state_dir, "pki", "ca.pem"))
        result = {"old_refused": {}, "current_accepted": {}}
        for name, value in before.items():
            if value != after.get(name):
                result["old_refused"][name] = status(url, value, context) == 401
        for name, value in after.items():
            result["current_accepted"][name] = status(url, value, context) == 200
        print(json.dumps(result))
    elif command == "leakscan":
        values = set()
        for name in secrets_of(kv):  # every version ever written, retired ones included
            meta = kv.secrets.kv.v2.read_secret_metadata(path=name, mount_point="secret")["data"]
            deleted = [int(v) for v, d in meta["versions"].items() if d["deletion_time"] and not d["destroyed"]]
            if deleted:
                kv.secrets.kv.v2.undelete_secret_versions(path=name, versions=deleted, mount_point="secret")
            for v in meta["versions"]:
                data = kv.secrets.kv.v2.read_secret_version(path=name, version=int(v), mount_point="secret",
                                                            raise_on_deleted_version=False)
                if data and data.get("data") and data["data"].get("data"):
                    values.add(value_of(data))
            if deleted:
                kv.secrets.kv.v2.delete_secret_versions(path=name, versions=deleted, mount_point="secret")
        for snap in glob.glob(os.path.join(state_dir, "snap-*.json")):
            with open(snap) as handle:
                values.update(json.load(handle).values())
        for name in ("aws_secret",):
            with open(os.path.join(state_dir, name)) as handle:
                values.add(handle.read().strip())
        for key in ("sa_key.pem", "pki/gateway.key"):
            with open(os.path.join(state_dir, key)) as handle:
                values.update(line for line in handle.read().splitlines()[1:-1][:3])  # lines of the private key
        values.add(state["bao_token"])
        values = [v for v in values if len(v) >= 16]
        hits = {}
        for path in sys.argv[3:]:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            hits[path] = sum(text.count(v) for v in values)
        print(json.dumps({"secrets_checked": len(values), "files": len(hits), "hits": hits}))


if __name__ == "__main__":
    main()
