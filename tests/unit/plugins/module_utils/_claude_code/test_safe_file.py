# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_safe_file: path walks that never follow a link someone else controls, and descriptor-only writes.

"Untrusted" directories are made world-writable (any user could plant a link there), or owned by an
unprivileged user when the tests run as root.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import stat

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code import safe_file as _safe_file
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.safe_file import (
    ManagedFile,
    SafeFileError,
    SafePath,
    UnsafePathError,
    parse_mode,
)

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files to another user")
NOBODY = 65534


def untrusted(path):
    """A directory any user may write: links and hard links in it are someone else's."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(str(path), 0o777)
    return path


def victim(tmp_path, content=b"VICTIM-SECRET\n"):
    path = tmp_path / "victim" / "secret"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    os.chmod(str(path), 0o600)
    return path


def state_of(path):
    info = os.lstat(str(path))
    return path.read_bytes(), info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), info.st_ino


def read(path, action="write"):
    return SafePath(str(path), action).read()


class Failed(AssertionError):
    """FakeModule.fail_json was called; the argument is the module result."""


class FakeModule(object):
    """What ManagedFile uses of AnsibleModule."""

    def __init__(self, check_mode=False, **params):
        self.params = dict(mode=None, owner=None, group=None, backup=False)
        self.params.update(params)
        self.check_mode = check_mode

    def fail_json(self, **result):
        raise Failed(result)


# ---------------------------------------------------------------- links
def test_symlinked_file_is_refused(tmp_path):
    secret = victim(tmp_path)
    before = state_of(secret)
    home = untrusted(tmp_path / "home")
    os.symlink(str(secret), str(home / "settings.json"))
    with pytest.raises(UnsafePathError) as err:
        read(home / "settings.json")
    msg = str(err.value)
    assert msg.startswith("refusing to write %s: %s is a symbolic link in a directory that every user controls"
                          % (home / "settings.json", home / "settings.json"))
    assert "never follows it" in msg and "Fix: remove the link" in msg and err.value.kind == "unsafe_path"
    assert "VICTIM" not in msg and state_of(secret) == before


def test_symlinked_parent_is_refused(tmp_path):
    secret = victim(tmp_path)
    home = untrusted(tmp_path / "home")
    os.symlink(str(secret.parent), str(home / ".claude"))
    with pytest.raises(UnsafePathError, match=r"\.claude is a symbolic link .* Fix: remove the link \(mkdir .*\.claude\)"):
        read(home / ".claude" / "secret", "edit")


def test_symlink_in_the_middle_is_refused(tmp_path):
    secret = victim(tmp_path)
    (secret.parent / "sub").mkdir()
    (secret.parent / "sub" / "f").write_text("x")
    mid = untrusted(tmp_path / "a" / "b")
    os.symlink(str(secret.parent), str(mid / "link"))
    with pytest.raises(UnsafePathError, match="b/link is a symbolic link"):
        read(mid / "link" / "sub" / "f")
    with pytest.raises(UnsafePathError):  # relative link too
        os.symlink("../../victim", str(mid / "rel"))
        read(mid / "rel" / "secret")


@ROOT_ONLY
def test_link_in_a_user_owned_directory_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chown(str(home), NOBODY, NOBODY)
    os.symlink(str(victim(tmp_path)), str(home / ".env"))
    with pytest.raises(UnsafePathError, match="in a directory that user nobody controls; a root task never"):
        read(home / ".env")


@ROOT_ONLY
def test_link_owned_by_a_user_in_a_root_directory_is_refused(tmp_path):
    os.symlink(str(victim(tmp_path)), str(tmp_path / "link"))
    os.lchown(str(tmp_path / "link"), NOBODY, NOBODY)
    with pytest.raises(UnsafePathError, match="symbolic link owned by user nobody"):
        read(tmp_path / "link")


def test_trusted_root_symlink_is_followed(tmp_path):
    data = tmp_path / "data" / "alice"
    data.mkdir(parents=True)
    homes = tmp_path / "homes"
    homes.mkdir(mode=0o755)
    os.symlink(str(data), str(homes / "alice"))  # an admin's link, in a directory only root writes
    os.symlink("alice/s.json", str(homes / "rel"))  # relative, and to the file itself
    (data / "s.json").write_text("{}")
    target = read(homes / "alice" / "s.json")
    assert target.exists and target.data == b"{}" and target.display == str(data / "s.json")
    assert read(homes / "rel").display == str(data / "s.json")
    target.write(b'{"a": 1}')
    assert (data / "s.json").read_text() == '{"a": 1}' and os.path.islink(str(homes / "alice"))
    target.close()


def test_link_loop_stops(tmp_path):
    os.symlink("b", str(tmp_path / "a"))
    os.symlink("a", str(tmp_path / "b"))
    with pytest.raises(SafeFileError, match="too many levels of symbolic links"):
        read(tmp_path / "a" / "f")


def test_dot_dot_and_relative_paths(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    assert read(tmp_path / "d" / ".." / "f").data == b"x"
    monkeypatch.chdir(str(tmp_path))
    assert read("d/../f").data == b"x"


# ---------------------------------------------------------------- what is opened
def test_hard_link_refused_in_untrusted_directory_only(tmp_path):
    secret = victim(tmp_path)
    home = untrusted(tmp_path / "home")
    os.link(str(secret), str(home / ".env"))
    with pytest.raises(UnsafePathError, match="has 2 hard links"):
        read(home / ".env")
    os.link(str(secret), str(tmp_path / "victim" / "copy"))  # a root-only directory: root's own business
    assert read(tmp_path / "victim" / "copy").exists


def test_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(str(tmp_path / "pipe"))
    with pytest.raises(SafeFileError, match="not a regular file; it was left untouched") as err:
        read(tmp_path / "pipe")
    assert err.value.kind == "not_regular_file"
    with pytest.raises(SafeFileError, match="not a regular file"):
        read(tmp_path)  # a directory


def test_missing_directories_are_counted(tmp_path):
    target = read(tmp_path / "a" / "b" / "f")
    assert not target.exists and target.missing == 2 and target.dir_fd is None
    with pytest.raises(SafeFileError, match="does not exist"):
        target.make_parent(0o700)
    assert not (tmp_path / "a").exists()
    with pytest.raises(SafeFileError, match="not a directory"):
        (tmp_path / "file").write_text("x")
        read(tmp_path / "file" / "f")


# ---------------------------------------------------------------- writing
def test_write_sets_owner_and_mode_on_the_temporary_file_only(tmp_path, monkeypatch):
    calls = []
    real_fchown, real_fchmod = os.fchown, os.fchmod
    monkeypatch.setattr(os, "fchown", lambda fd, uid, gid: (calls.append(("fchown", os.readlink("/proc/self/fd/%d" % fd))),
                                                            real_fchown(fd, uid, gid)))
    monkeypatch.setattr(os, "fchmod", lambda fd, mode: (calls.append(("fchmod", os.readlink("/proc/self/fd/%d" % fd))),
                                                        real_fchmod(fd, mode)))
    for name in ("chown", "lchown", "chmod"):
        monkeypatch.setattr(os, name, lambda *a, **k: pytest.fail("changed attributes by path"))
    uid = NOBODY if os.geteuid() == 0 else os.geteuid()
    target = read(tmp_path / "s.json")
    target.write(b"{}\n", uid, None, 0o640)
    target.close()
    info = os.stat(str(tmp_path / "s.json"))
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (uid, 0o640)
    assert [c[0] for c in calls] == ["fchown", "fchmod"]
    assert all(re.match(r"^%s/\.s\.json\.[0-9a-f]{12}$" % re.escape(str(tmp_path)), c[1]) for c in calls), calls


def test_write_replaces_atomically_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    path.write_text("old\n")
    reader = open(str(path))
    inode = os.stat(str(path)).st_ino
    target = read(path)
    target.write(b"new\n", mode=0o600)
    assert path.read_text() == "new\n" and os.stat(str(path)).st_ino != inode
    assert reader.read() == "old\n"  # an open reader keeps the whole old file
    assert sorted(os.listdir(str(tmp_path))) == ["s.json"]

    def broken(fd, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "write", broken)
    with pytest.raises(SafeFileError, match="No space left"):
        target.write(b"newer\n")
    monkeypatch.undo()
    target.close()
    assert path.read_text() == "new\n" and sorted(os.listdir(str(tmp_path))) == ["s.json"]


def test_write_replaces_a_link_planted_after_the_read(tmp_path):
    """The rename replaces whatever the name is now; it never writes through it."""
    secret = victim(tmp_path)
    before = state_of(secret)
    home = untrusted(tmp_path / "home")
    target = read(home / ".env")
    os.symlink(str(secret), str(home / ".env"))
    target.write(b"A=1\n")
    target.close()
    assert not os.path.islink(str(home / ".env")) and (home / ".env").read_text() == "A=1\n"
    assert state_of(secret) == before


def test_absent_unlinks_by_name(tmp_path):
    (tmp_path / "f").write_text("x")
    target = read(tmp_path / "f")
    target.unlink()
    target.close()
    assert not (tmp_path / "f").exists()


def test_backup_beside_the_file_with_its_attributes(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{}\n")
    os.chmod(str(path), 0o640)
    target = read(path)
    backup = target.backup()
    target.close()
    assert re.match(r"^%s\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$" % re.escape(str(path)), backup)
    assert open(backup).read() == "{}\n" and stat.S_IMODE(os.stat(backup).st_mode) == 0o640


def test_parent_creation(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    uid = NOBODY if os.geteuid() == 0 else os.geteuid()
    target = read(home / ".claude" / "settings.json")
    assert target.missing == 1 and target.missing_name == ".claude"
    assert target.make_parent(0o700, uid, None) is True
    target.write(b"{}\n", uid, None, 0o600)
    target.close()
    info = os.stat(str(home / ".claude"))
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (uid, 0o700)
    assert (home / ".claude" / "settings.json").read_text() == "{}\n"


def test_parse_mode():
    assert parse_mode("0600") == parse_mode("600") == parse_mode(0o600) == 0o600
    assert parse_mode(None) is None and parse_mode("04755") == 0o4755
    for bad in ("u=rw", "0900", True, "rw-------"):
        with pytest.raises(ValueError):
            parse_mode(bad)


# ---------------------------------------------------------------- ManagedFile (what the modules run)
def managed(path, **params):
    """A ManagedFile for ``path`` as a module with ``params`` builds it, and the module result it fills."""
    result = {}
    module = FakeModule(path=str(path), **params)
    return ManagedFile(module, str(path), result, "write"), result


def test_managed_mode_change_uses_the_descriptor_and_owner_change_rewrites(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    path.write_text("{}\n")
    os.chmod(str(path), 0o644)
    inode = os.stat(str(path)).st_ino
    target, result = managed(path, mode="0600")
    target.apply("{}\n", False, False, False)
    assert result["changed"] and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert os.stat(str(path)).st_ino == inode  # chmod through the open descriptor, same file
    target, result = managed(path, mode="0600")
    target.apply("{}\n", False, False, False)
    assert result["changed"] is False
    if os.geteuid() == 0:
        target, result = managed(path, owner=str(NOBODY))
        target.apply("{}\n", False, False, False)
        info = os.stat(str(path))
        assert result["changed"] and info.st_uid == NOBODY and info.st_ino != inode  # a new file, then chowned
        assert stat.S_IMODE(info.st_mode) == 0o600 and path.read_text() == "{}\n"


def test_managed_check_mode_predicts_without_writing(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{}\n")
    os.chmod(str(path), 0o644)
    result = {}
    target = ManagedFile(FakeModule(check_mode=True, mode="0600", backup=True), str(path), result)
    target.apply("{\"a\": 1}\n", True, False, False)
    assert result["changed"] and "backup_file" not in result
    assert path.read_text() == "{}\n" and stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644
    assert sorted(os.listdir(str(tmp_path))) == ["s.json"]


def test_managed_refusal_fails_the_module_with_unsafe_path(tmp_path):
    home = untrusted(tmp_path / "home")
    os.symlink(str(victim(tmp_path)), str(home / ".env"))
    with pytest.raises(AssertionError) as err:
        managed(home / ".env", mode="0600")
    failure = err.value.args[0]
    assert failure["error_kind"] == "unsafe_path" and "symbolic link" in failure["msg"]


def test_managed_bad_mode_and_owner(tmp_path):
    for params, match in ((dict(mode="u+rw"), "not an octal mode"), (dict(owner="no-such-user-x"), "does not exist")):
        with pytest.raises(AssertionError, match=match):
            managed(tmp_path / "f", **params)


def test_module_utils_never_changes_attributes_by_path():
    source = open(_safe_file.__file__).read()
    assert not re.search(r"os\.(chown|lchown|chmod|lchmod)\(", source)
    assert "follow_symlinks=True" not in source
