# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command the way a GitHub Actions job gets it: only the runner's .env plus HOME/PATH/USER.

  python3 runner_job.py /opt/actions-runner runner -- claude -p hi
The runner re-reads its .env at every job start, so this does too. Nothing is printed but the command's own
output.

This file stands in for the runner itself (the consumer of the file the collection writes), so it reads .env
the way the runner does, on its own, and not through the collection's reader: a writer and a reader sharing
one parser would agree with each other even when both disagree with the runner.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import sys


def runner_env(runner_dir):
    """KEY=VALUE lines of <runner_dir>/.env (the runner splits at the first '=' and takes the rest verbatim)."""
    env = {}
    with open(os.path.join(runner_dir, ".env"), encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


def main():
    runner_dir, user = sys.argv[1:3]
    argv = sys.argv[sys.argv.index("--") + 1:]
    account = pwd.getpwnam(user)
    env = runner_env(runner_dir)
    env.update({"HOME": account.pw_dir, "USER": user, "LOGNAME": user,
                "PATH": "/usr/local/bin:/usr/bin:/bin"})
    os.chdir(account.pw_dir)
    os.setgroups([])
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main()
