#!/usr/bin/env bash
# Stand-in for a GitHub Actions self-hosted runner's runsvc.sh: like the real runner it loads .env
# (KEY=VALUE lines) into the environment its jobs get, then waits for jobs.
cd "$(dirname "$0")" || exit 1
if [ -f .env ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | '#'*) continue ;; *=*) export "${line?}" ;; esac
  done < .env
fi
exec sleep infinity
