#!/usr/bin/env bash
# Build a directory of wheels so hosts can install offline:
#   pip install --no-index --find-links DIR [-c CONSTRAINTS] REQUIREMENT...
# Usage: build-wheelhouse.sh [-c CONSTRAINTS] DIR REQUIREMENT...
#   e.g. build-wheelhouse.sh -c roles/litellm/files/constraints-1.108.7.txt .cache/wheelhouse/litellm \
#          'litellm[proxy]==1.108.7' google-auth==2.43.0 prisma==0.15.0
# With -c every wheel is the version the constraints file pins (the role installs with the same file).
# The wheels are resolved by Debian's own /usr/bin/python3 (3.11.2, x86_64, glibc 2.36), exactly the
# interpreter of the test image and of Debian 12 hosts: markers such as `python_full_version < "3.11.3"`
# select different dependencies on another 3.11.x (e.g. the test venv's). DIR/.key records a hash of the
# requirement list, the constraints file's content and the interpreter: a second run with the same inputs
# is a no-op; any change rebuilds DIR from scratch (then swaps it in whole).
set -euo pipefail
constraints=()
if [ "${1:-}" = "-c" ]; then
  [ -f "${2:-}" ] || { echo "$0: constraints file '${2:-}' not found" >&2; exit 2; }
  constraints=(-c "$(realpath "$2")")
  shift 2
fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [-c CONSTRAINTS] DIR REQUIREMENT..." >&2
  exit 2
fi
TARGET_PYTHON=${TARGET_PYTHON:-/usr/bin/python3}
dir=$(realpath -m "$1")
shift
pytag=$("$TARGET_PYTHON" -c 'import platform, sysconfig; print(platform.python_version(), sysconfig.get_platform())')
# Without -c the key is the one of earlier builds (interpreter and requirements only).
key=$({ printf '%s\n' "$pytag" "$@"; [ ${#constraints[@]} -eq 0 ] || cat "${constraints[1]}"; } | sha256sum | cut -c1-16)

up_to_date() { [ "$(cat "$dir/.key" 2>/dev/null)" = "$key" ]; }
if up_to_date; then
  echo "wheelhouse: $dir is up to date (key $key, $(find "$dir" -name '*.whl' | wc -l) wheels)"
  exit 0
fi

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
up_to_date && exit 0

work=$(mktemp -d "$dir.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "wheelhouse: building $dir for Python $pytag: $*${constraints[1]:+ (constraints ${constraints[1]})}"
start=$SECONDS
# pip run by that interpreter, from a small venv next to DIR (Debian's python3 has no pip of its own).
PYTHON=$(dirname "$dir")/.pip-${pytag// /-}/bin/python
[ -x "$PYTHON" ] || "$TARGET_PYTHON" -m venv "$(dirname "$(dirname "$PYTHON")")"
# `pip wheel` downloads wheels where they exist and builds the rest (sdists) into wheels, so the
# offline install never needs a compiler or build backend.
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$work" "${constraints[@]}" "$@"
fetched=$((SECONDS - start))
# Prove the set is complete: resolve the same requirements with no index at all.
"$PYTHON" -m pip install --quiet --disable-pip-version-check --dry-run --ignore-installed \
  --no-index --find-links "$work" "${constraints[@]}" "$@"
echo "$key" > "$work/.key"
chmod 0755 "$work"
rm -rf "$dir"
mv "$work" "$dir"
trap - EXIT
echo "wheelhouse: $(find "$dir" -name '*.whl' | wc -l) wheels, $(du -sm "$dir" | cut -f1) MB in $fetched s (+ check $((SECONDS - start - fetched)) s)"
