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
for f in plugins/lookup/*.py; do
  ansible-doc -t lookup "llmops.claude_gateway.$(basename "$f" .py)" >/dev/null; count=$((count + 1))
done
# A filter file may hold several filters; each is documented in its own YAML file.
for f in plugins/filter/*.yml; do
  ansible-doc -t filter "llmops.claude_gateway.$(basename "$f" .yml)" >/dev/null; count=$((count + 1))
done
for r in roles/*/; do
  ansible-doc -t role "llmops.claude_gateway.$(basename "$r")" >/dev/null; count=$((count + 1))
done
echo "ansible-doc rendered $count plugins and roles"
