#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection at .../ansible_collections/llmops/claude_gateway
# (ansible-test needs that path and lists files with git, so the copy lives outside this repo).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${SANITY_WORKDIR:-${TMPDIR:-/tmp}/llmops-claude_gateway-sanity}
DEST=$WORK/ansible_collections/llmops/claude_gateway
rm -rf "$DEST" && mkdir -p "$DEST"
cd "$ROOT"
git ls-files -co --exclude-standard -z | xargs -0 -r cp --parents -t "$DEST"/ 2>/dev/null || true
# ansible-test bootstraps pip in its venvs with a get-pip script from a host outside the package
# registries; give it the offline stand-in under the name it looks for.
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$ROOT"/.venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -1)
mkdir -p "$HOME/.ansible/test/cache"
cp "$ROOT/tests/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
cd "$DEST"
"$ROOT/.venv/bin/ansible-test" sanity --local --python 3.11 "$@"
