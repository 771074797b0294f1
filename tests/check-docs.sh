#!/usr/bin/env bash
# Every module, lookup and role of the collection must render with ansible-doc.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
count=0
for f in plugins/modules/*.py; do
  name=$(basename "$f" .py)
  ansible-doc "llmops.claude_gateway.$name" >/dev/null; count=$((count + 1))
done
for f in plugins/lookup/*.py plugins/filter/*.py; do
  [ -e "$f" ] || continue
  kind=$(basename "$(dirname "$f")")
  if [ "$kind" = filter ]; then
    # A filter file may hold several filters, documented one by one (YAML next to it).
    continue
  fi
  ansible-doc -t "$kind" "llmops.claude_gateway.$(basename "$f" .py)" >/dev/null; count=$((count + 1))
done
for r in roles/*/; do
  ansible-doc -t role "llmops.claude_gateway.$(basename "$r")" >/dev/null; count=$((count + 1))
done
echo "ansible-doc rendered $count plugins and roles"
