# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_safe_file under races and odd file systems: what happens when a name changes between two steps, when
temporary names are taken, when a directory appears or vanishes, and what a refusal says word for word.

The races are staged with a hook on the call that follows the check (os.open after os.stat, os.rename
after the write), which is where another user could act.
"""

from __future__ import absolute_import, division, print_function

import errno
import itertools
import os
import signal
import stat
import types

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code import safe_file as _safe_file
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.safe_file import (
    SafeFileError,
    SafePath,
    UnsafePathError,
    is_trusted_dir,
)

from .test_safe_file import ROOT_ONLY, Failed, managed, read, untrusted, victim

UNUSED_ID = 54321  # no user or group has it on the test machines


def walked(path, action="write"):
    return SafePath(str(path), action)


def refusal(path, problem, fix):
    return "refusing to write %s: %s; %s never follows it. Fix: %s" % (path, problem, _safe_file._runner(), fix)


def owner_and_mode(path):
    info = os.lstat(str(path))
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


# --- who is trusted -----------------------------------------------------------------------------------

def test_a_task_not_run_as_root_trusts_root_and_its_own_user(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: UNUSED_ID)

    def dir_stat(uid):
        return types.SimpleNamespace(st_uid=uid, st_gid=0, st_mode=stat.S_IFDIR | 0o755)
    assert is_trusted_dir(dir_stat(0)) and is_trusted_dir(dir_stat(UNUSED_ID))
    assert not is_trusted_dir(dir_stat(UNUSED_ID + 1))
    assert _safe_file._runner() == "this task"


# --- walking -------------------------------------------------------------------------------------------

def test_a_final_link_is_refused_with_the_rm_fix(tmp_path):
    home = untrusted(tmp_path / "home")
    link = home / ".env"
    os.symlink(str(victim(tmp_path)), str(link))
    with pytest.raises(UnsafePathError) as info:
        read(link)
    assert str(info.value) == refusal(
        link, "%s is a symbolic link in a directory that every user controls" % link,
        "remove the link (rm %s; the task then writes a regular file there) or give the real path, and run again"
        % link)


def test_a_trusted_final_link_may_climb_with_dot_dot(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("up here")
    os.symlink("../f", str(tmp_path / "d" / "up"))
    target = read(tmp_path / "d" / "up")
    assert target.data == b"up here" and target.display == str(tmp_path / "f")
    target.close()


def test_missing_directories_keep_the_file_name(tmp_path):
    target = walked(tmp_path / "a" / "b" / "f")
    assert (target.missing, target.missing_name, target.name) == (2, "a", "f")
    target.close()
    target = walked(tmp_path / "a" / "f")
    assert (target.missing, target.missing_name, target.name) == (1, "a", "f")
    target.close()


def test_a_directory_name_the_system_refuses_is_named(tmp_path):
    long_dir = tmp_path / ("x" * 300)
    with pytest.raises(SafeFileError) as info:
        walked(long_dir / "f")
    assert info.value.kind == "io_error"
    assert str(info.value) == "cannot write %s: %s: %s" % (long_dir / "f", long_dir, os.strerror(errno.ENAMETOOLONG))


# --- reading while the name is swapped -------------------------------------------------------------------

def swap_before_open(monkeypatch, name, swap):
    """Run ``swap`` just before the file ``name`` is opened (after it was checked with stat)."""
    real_open = os.open

    def hooked(path, flags, *args, **kwargs):
        if path == name and kwargs.get("dir_fd") is not None and not flags & os.O_DIRECTORY:
            monkeypatch.setattr(os, "open", real_open)
            swap()
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, "open", hooked)


def test_a_file_that_became_a_link_after_the_walk_is_refused(tmp_path):
    secret = victim(tmp_path)
    home = untrusted(tmp_path / "home")
    path = home / ".env"
    path.write_text("A=1\n")
    target = walked(path)
    path.unlink()
    os.symlink(str(secret), str(path))
    with pytest.raises(UnsafePathError) as info:
        target.read()
    target.close()
    assert str(info.value) == refusal(path, "%s became a symbolic link while it was being read" % path,
                                      "find out who replaced it, remove the link and run again")


def test_a_file_swapped_for_a_link_between_stat_and_open_is_not_followed(tmp_path, monkeypatch):
    secret = victim(tmp_path)
    home = untrusted(tmp_path / "home")
    path = home / ".env"
    path.write_text("A=1\n")
    target = walked(path)

    def swap():
        path.unlink()
        os.symlink(str(secret), str(path))
    swap_before_open(monkeypatch, ".env", swap)
    with pytest.raises(UnsafePathError) as info:
        target.read()
    target.close()
    assert target.data is None
    assert str(info.value) == refusal(path, "%s became a symbolic link while it was being read" % path,
                                      "find out who replaced it, remove the link and run again")


def test_a_file_swapped_for_a_fifo_between_stat_and_open_is_refused_without_blocking(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_text("x")
    target = walked(path)

    def swap():
        path.unlink()
        os.mkfifo(str(path))
    swap_before_open(monkeypatch, "f", swap)

    def blocked(signum, frame):
        raise AssertionError("opening the FIFO blocked")
    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(5)
    try:
        with pytest.raises(SafeFileError) as info:
            target.read()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        target.close()
    assert info.value.kind == "not_regular_file"
    assert str(info.value) == "cannot write %s: %s exists and is not a regular file; it was left untouched" % (
        path, path)


def test_the_hard_link_refusal_names_the_fix(tmp_path):
    secret = victim(tmp_path)
    home = untrusted(tmp_path / "home")
    path = home / ".env"
    os.link(str(secret), str(path))
    with pytest.raises(UnsafePathError) as info:
        read(path)
    assert str(info.value) == refusal(
        path, "%s has 2 hard links and sits in a directory that every user controls (it may be another file "
        "linked there)" % path,
        "remove it (rm %s) and run again; the task then writes a file of its own there" % path)


# --- creating the directory --------------------------------------------------------------------------

def test_a_directory_created_meanwhile_by_someone_else_is_used_as_it_is(tmp_path):
    target = walked(tmp_path / "d" / "f")
    os.mkdir(str(tmp_path / "d"))
    os.chmod(str(tmp_path / "d"), 0o755)
    assert target.make_parent(0o700) is False
    assert target.missing == 0
    target.write(b"x\n")
    target.close()
    assert owner_and_mode(tmp_path / "d")[2] == 0o755 and (tmp_path / "d" / "f").read_text() == "x\n"


def test_a_directory_that_cannot_be_created_is_named(tmp_path):
    (tmp_path / "p").mkdir()
    target = walked(tmp_path / "p" / "d" / "f")
    os.rmdir(str(tmp_path / "p"))
    with pytest.raises(SafeFileError) as info:
        target.make_parent(0o700)
    target.close()
    assert info.value.kind == "io_error"
    assert str(info.value) == "cannot write %s: cannot create %s: %s" % (
        tmp_path / "p" / "d" / "f", tmp_path / "p" / "d", os.strerror(errno.ENOENT))


@pytest.mark.parametrize("planted", ["link", "file"])
def test_something_planted_where_the_directory_goes_is_refused(tmp_path, planted):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chmod(str(elsewhere), 0o755)
    target = walked(tmp_path / "d" / "f")
    if planted == "link":
        os.symlink(str(elsewhere), str(tmp_path / "d"))
    else:
        (tmp_path / "d").write_text("")
    with pytest.raises(UnsafePathError) as info:
        target.make_parent(0o700)
    target.close()
    assert str(info.value) == refusal(
        tmp_path / "d" / "f",
        "%s was replaced by something that is not a directory while it was being created" % (tmp_path / "d"),
        "remove it and run again")
    assert owner_and_mode(elsewhere)[2] == 0o755 and os.listdir(str(elsewhere)) == []


# --- owners that are not asked for stay as the file system made them ------------------------------------

def setgid_dir(path):
    """A directory whose new entries get its group (UNUSED_ID), not the creator's."""
    path.mkdir()
    os.chown(str(path), 0, UNUSED_ID)
    os.chmod(str(path), 0o2755)
    return path


def new_entries_owned_by(monkeypatch, uid):
    """Make new files and directories come out owned by ``uid`` (as a file system may map root)."""
    real_open, real_mkdir = os.open, os.mkdir

    def hooked_open(path, flags, *args, **kwargs):
        fd = real_open(path, flags, *args, **kwargs)
        if flags & os.O_CREAT:
            os.fchown(fd, uid, -1)
        return fd

    def hooked_mkdir(path, mode=0o777, *, dir_fd=None):
        real_mkdir(path, mode, dir_fd=dir_fd)
        os.chown(path, uid, -1, dir_fd=dir_fd, follow_symlinks=False)
    monkeypatch.setattr(os, "open", hooked_open)
    monkeypatch.setattr(os, "mkdir", hooked_mkdir)


@ROOT_ONLY
def test_a_group_not_asked_for_stays_the_inherited_one(tmp_path):
    parent = setgid_dir(tmp_path / "shared")
    target = walked(parent / "d" / "f")
    assert target.make_parent(0o750, UNUSED_ID, None) is True
    target.close()
    target = read(parent / "f")
    target.write(b"x", uid=UNUSED_ID, gid=None, mode=0o640)
    target.close()
    assert owner_and_mode(parent / "d") == (UNUSED_ID, UNUSED_ID, 0o750)
    assert owner_and_mode(parent / "f") == (UNUSED_ID, UNUSED_ID, 0o640)


@ROOT_ONLY
def test_an_owner_not_asked_for_stays_the_one_the_file_system_gave(tmp_path, monkeypatch):
    target = walked(tmp_path / "d" / "f")
    new_entries_owned_by(monkeypatch, UNUSED_ID)
    assert target.make_parent(0o750, None, UNUSED_ID + 1) is True
    target.write(b"x", uid=None, gid=UNUSED_ID + 1, mode=0o640)
    target.close()
    assert owner_and_mode(tmp_path / "d") == (UNUSED_ID, UNUSED_ID + 1, 0o750)
    assert owner_and_mode(tmp_path / "d" / "f") == (UNUSED_ID, UNUSED_ID + 1, 0o640)


# --- the temporary file -------------------------------------------------------------------------------

def numbered_temp_names(monkeypatch):
    """Temporary names become .NAME.000000000000, .NAME.000000000001, ... so tests can take them first."""
    counter = itertools.count()
    monkeypatch.setattr(os, "urandom", lambda size: next(counter).to_bytes(size, "big"))


def take_temp_names(directory, name, count, secret):
    for number in range(count):
        os.symlink(str(secret), str(directory / (".%s.%012x" % (name, number))))


def test_twenty_temporary_names_are_tried(tmp_path, monkeypatch):
    secret = victim(tmp_path)
    home = untrusted(tmp_path / "home")
    take_temp_names(home, ".env", 19, secret)
    numbered_temp_names(monkeypatch)
    target = read(home / ".env")
    assert target.write(b"A=1\n") == str(home / ".env")
    target.close()
    assert (home / ".env").read_text() == "A=1\n" and secret.read_text() == "VICTIM-SECRET\n"
    assert len(os.listdir(str(home))) == 20  # the 19 taken names and the file


def test_no_twenty_first_temporary_name_is_tried(tmp_path, monkeypatch):
    secret = victim(tmp_path)
    home = untrusted(tmp_path / "home")
    take_temp_names(home, ".env", 20, secret)
    numbered_temp_names(monkeypatch)
    target = read(home / ".env")
    with pytest.raises(SafeFileError) as info:
        target.write(b"A=1\n")
    target.close()
    assert info.value.kind == "io_error"
    assert str(info.value) == "cannot write %s: cannot create a temporary file in %s" % (home / ".env", home)
    assert not (home / ".env").exists() and secret.read_text() == "VICTIM-SECRET\n"
    assert len(os.listdir(str(home))) == 20


def test_a_temporary_file_that_cannot_be_created_is_named(tmp_path):
    (tmp_path / "d").mkdir()
    target = read(tmp_path / "d" / "f")
    os.rmdir(str(tmp_path / "d"))
    with pytest.raises(SafeFileError) as info:
        target.write(b"x")
    target.close()
    assert info.value.kind == "io_error"
    assert str(info.value) == "cannot write %s: cannot create a temporary file in %s: %s" % (
        tmp_path / "d" / "f", tmp_path / "d", os.strerror(errno.ENOENT))


def test_the_temporary_file_is_0600_while_the_content_is_written(tmp_path, monkeypatch):
    modes = []
    real_write = os.write

    def hooked(fd, data):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)
    monkeypatch.setattr(os, "write", hooked)
    old_umask = os.umask(0)
    try:
        target = read(tmp_path / "f")
        target.write(b"secret\n", mode=0o644)
        target.close()
    finally:
        os.umask(old_umask)
    assert modes == [0o600] and owner_and_mode(tmp_path / "f")[2] == 0o644


def test_a_temporary_file_removed_by_someone_else_fails_the_write_cleanly(tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_text("old\n")
    target = read(path)
    real_rename = os.rename

    def hooked(src, dst, *, src_dir_fd=None, dst_dir_fd=None):
        os.unlink(src, dir_fd=src_dir_fd)
        return real_rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
    monkeypatch.setattr(os, "rename", hooked)
    with pytest.raises(SafeFileError) as info:
        target.write(b"new\n")
    target.close()
    assert info.value.kind == "io_error"
    assert str(info.value) == "cannot write %s: %s" % (path, os.strerror(errno.ENOENT))
    assert path.read_text() == "old\n" and os.listdir(str(tmp_path)) == ["f"]


# --- deleting and closing ------------------------------------------------------------------------------

def test_deleting_a_file_someone_already_removed_is_quiet(tmp_path):
    (tmp_path / "f").write_text("x")
    target = read(tmp_path / "f")
    (tmp_path / "f").unlink()
    target.unlink()
    target.close()
    assert os.listdir(str(tmp_path)) == []


def open_descriptors():
    return len(os.listdir("/proc/self/fd"))


def test_close_releases_every_descriptor(tmp_path):
    (tmp_path / "f").write_text("x")
    before = open_descriptors()
    for path in (tmp_path / "f", tmp_path / "missing" / "f"):
        with read(path) as target:
            assert open_descriptors() > before
        assert open_descriptors() == before and target.fd is None and target.dir_fd is None
        assert target.parent_fd is None


def test_close_survives_a_descriptor_already_closed(tmp_path):
    (tmp_path / "f").write_text("x")
    target = read(tmp_path / "f")
    os.close(target.fd)
    target.close()
    assert target.fd is None


# --- ManagedFile ---------------------------------------------------------------------------------------

def test_managed_exists_is_a_plain_answer(tmp_path):
    (tmp_path / "f").write_text("x")
    assert managed(tmp_path / "f")[0].exists is True
    assert managed(tmp_path / "new")[0].exists is False


def test_managed_new_file_gets_the_mode_asked_for(tmp_path):
    target, result = managed(tmp_path / "f", mode="0640")
    target.apply("x\n", True, True, False)
    assert result["changed"] is True and owner_and_mode(tmp_path / "f")[2] == 0o640


def test_managed_no_directory_is_missing_once_it_was_created(tmp_path):
    target, result = managed(tmp_path / "d" / "f")
    assert target.missing_dirs == 1
    target.apply("x\n", True, True, False, parent_mode="0700")
    assert result["changed"] is True and target.missing_dirs == 0


def test_managed_system_error_fails_the_module_with_its_text(tmp_path, monkeypatch):
    real_fsync = os.fsync

    def hooked(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", hooked)
    target, result = managed(tmp_path / "f")
    with pytest.raises(Failed) as info:
        target.apply("x\n", True, True, False)
    failed = info.value.args[0]
    assert failed["error_kind"] == "io_error"
    assert failed["msg"] == "cannot handle %s: %s" % (tmp_path / "f", os.strerror(errno.EIO))
