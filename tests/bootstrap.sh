#!/usr/bin/env bash
# Install everything `make test` needs on a fresh Debian 12 machine (run as root), idempotently:
# Debian packages for the container tests, the test venv, and the collection on an importable path.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
CACHE=$ROOT/.cache

APT_PACKAGES="podman runc mmdebstrap zstd uidmap slirp4netns fuse-overlayfs iproute2 jq python3-venv util-linux shellcheck"
missing=""
for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian packages:$missing"
    apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "bootstrap: missing Debian packages:$missing (run as root or install them)" >&2
  fi
fi

stamp=$VENV/.requirements.sha
want=$(cat "$ROOT/requirements.txt" "$ROOT/tests/requirements-test.txt" | sha256sum | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: building venv $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r "$ROOT/requirements.txt" -r "$ROOT/tests/requirements-test.txt"
  echo "$want" > "$stamp"
fi

# The collection, importable as ansible_collections.llmops.claude_gateway without installing it.
mkdir -p "$CACHE/collections/ansible_collections/llmops"
ln -sfn "$ROOT" "$CACHE/collections/ansible_collections/llmops/claude_gateway"
echo "bootstrap: ok"
