# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmops.claude_gateway maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only connection: the podman connection, with commands run through nsenter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: podman_nsenter
short_description: Run commands in a local rootful podman container through nsenter
description:
  - The C(containers.podman.podman) connection, except that commands run with C(nsenter) in the
    namespaces of the container's PID 1 instead of C(podman exec).
  - Why - an Ansible task runs about five commands per host and a C(podman exec) costs 0.1-0.4 s, while
    C(nsenter) costs a few milliseconds. Files move through C(/proc/<pid>/root), the container's own
    view of its file system (tmpfs mounts such as C(/tmp) and C(/run) included), so after the first
    task of a play no podman command runs at all.
  - Commands get a clean environment like C(podman exec) (PATH, HOME, TERM, container=podman); they run
    with the controller's capabilities and cgroup, not the container's.
  - Falls back to C(podman exec) for a non-root remote user or when C(nsenter) is missing.
  - Used by the Molecule scenarios of this collection only (see tests/containers/README.md).
author: llmops.claude_gateway maintainers
extends_documentation_fragment: []
options:
  remote_addr:
    description: The ID or name of the container.
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
      - name: ansible_podman_host
  remote_user:
    description: User the commands run as (default root).
    vars:
      - name: ansible_user
  podman_executable:
    description: Executable for podman.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  podman_extra_args:
    description: Extra arguments for every podman call.
    default: ''
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
"""

import os
import shlex
import shutil
import subprocess
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase, ensure_connect
from ansible.utils.display import Display
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

display = Display()

CLEAN_ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "TERM=xterm",
    "container=podman",
]


def _start_time(pid):
    """Start time of a process in clock ticks: with the pid it names one process for good."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError, ValueError):
        return None


class Connection(PodmanConnection):
    transport = "podman_nsenter"
    has_pipelining = False
    _pid = None
    _nsenter = None

    def _cache_file(self):
        # Each task runs in a fresh worker process: keep the container -> PID map in a private file.
        directory = os.path.join(tempfile.gettempdir(), "podman-nsenter-%d" % os.getuid())
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return os.path.join(directory, to_text(self._container_id).replace("/", "_"))

    def _init_pid(self):
        """Host PID of the container's PID 1, cached and checked against its start time."""
        path = self._cache_file()
        try:
            with open(path) as f:
                pid, started = f.read().split()
            if _start_time(int(pid)) == started:
                return int(pid)
        except (OSError, ValueError):
            pass
        rc, out, err = self._podman(["container", "inspect", "--format", "{{.State.Pid}}"])
        pid = int(out.strip() or 0) if rc == 0 else 0
        started = _start_time(pid) if pid > 0 else None
        if started is None:
            return None
        tmp = "%s.%d" % (path, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d %s\n" % (pid, started))
        os.rename(tmp, path)
        return pid

    def _connect(self):
        self._nsenter = shutil.which("nsenter")
        self._pid = self._init_pid() if self._nsenter and self.user in (None, "", "root") else None
        if self._pid is None:
            display.vvv("nsenter not usable, falling back to podman exec", host=self._container_id)
            return super(Connection, self)._connect()
        ConnectionBase._connect(self)
        self._mount_point = to_bytes("/proc/%d/root" % self._pid)
        self._connected = True
        return self

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        if self._pid is None:
            return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        argv = [self._nsenter, "--target", str(self._pid), "--mount", "--uts", "--ipc", "--net", "--pid",
                "--root", "--wd", "/usr/bin/env", "-i"] + CLEAN_ENV + shlex.split(to_text(cmd))
        display.vvv("NSENTER %s" % argv, host=self._container_id)
        proc = subprocess.Popen([to_bytes(a, errors="surrogate_or_strict") for a in argv],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stdout, stderr = proc.communicate(input=in_data)
        return proc.returncode, stdout, stderr
