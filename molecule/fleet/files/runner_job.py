# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command the way a CI job gets it: only the runner's configured environment plus HOME/PATH/USER.

  python3 runner_job.py github /opt/actions-runner runner -- claude -p hi
  python3 runner_job.py gitlab /etc/gitlab-runner/config.toml:claude-jobs gitlab-runner -- ...
The variables come from the runner's .env (GitHub Actions) or the runner's `environment` in config.toml
(GitLab Runner), re-read at every start like a new job. Nothing is printed but the command's own output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import sys


def job_env(kind, where):
    env = {}
    if kind == "github":
        with open(os.path.join(where, ".env"), encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    env[key] = value
    else:
        import tomllib

        path, name = where.rsplit(":", 1)
        with open(path, "rb") as handle:
            runners = [r for r in tomllib.load(handle).get("runners", []) if r.get("name") == name]
        for item in runners[0].get("environment", []):
            key, value = item.split("=", 1)
            env[key] = value
    return env


def main():
    kind, where, user = sys.argv[1:4]
    argv = sys.argv[sys.argv.index("--") + 1:]
    account = pwd.getpwnam(user)
    env = job_env(kind, where)
    env.update({"HOME": account.pw_dir, "USER": user, "LOGNAME": user,
                "PATH": "/usr/local/bin:/usr/bin:/bin"})
    os.chdir(account.pw_dir)
    os.setgroups([])
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main()
