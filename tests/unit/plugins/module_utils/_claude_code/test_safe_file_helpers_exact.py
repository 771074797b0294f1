"""_safe_file's small helpers to the letter: mode parsing bounds, user and group resolution, names of
unknown ids, who controls a directory, and when a directory is trusted."""
import os
import stat
import types

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code import safe_file as _safe_file
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.safe_file import (
    is_trusted_dir,
    parse_mode,
    resolve_group,
    resolve_user,
)

from .test_safe_file import ROOT_ONLY, Failed, managed

UNUSED_ID = 54321  # no user or group has it on the test machines


@pytest.mark.parametrize("value, mode", [(0, 0), ("0000", 0), (0o7777, 0o7777), ("7777", 0o7777), (" 0644 ", 0o644)])
def test_parse_mode_bounds(value, mode):
    assert parse_mode(value) == mode


@pytest.mark.parametrize("value", [-1, 0o10000, 4096 * 2])
def test_parse_mode_out_of_range_is_named(value):
    with pytest.raises(ValueError) as info:
        parse_mode(value)
    assert str(info.value) == "mode %r is out of range" % (value,)


def test_users_and_groups_by_name_number_or_nothing():
    assert resolve_user("root") == 0 and resolve_group("root") == 0
    assert resolve_user(str(UNUSED_ID)) == UNUSED_ID and resolve_group(UNUSED_ID) == UNUSED_ID
    assert resolve_user(None) is None and resolve_user("") is None
    assert resolve_group(None) is None and resolve_group("") is None
    with pytest.raises(ValueError) as info:
        resolve_user("no-such-user-x")
    assert str(info.value) == "user no-such-user-x does not exist on this host"
    with pytest.raises(ValueError) as info:
        resolve_group("no-such-group-x")
    assert str(info.value) == "group no-such-group-x does not exist on this host"


def test_unknown_ids_are_named_by_number():
    assert _safe_file._user_name(UNUSED_ID) == "uid %d" % UNUSED_ID
    assert _safe_file._group_name(UNUSED_ID) == "gid %d" % UNUSED_ID
    assert _safe_file._user_name(0) == "root" and _safe_file._group_name(0) == "root"


def fake_stat(uid, mode, gid=0):
    return types.SimpleNamespace(st_uid=uid, st_gid=gid, st_mode=stat.S_IFDIR | mode)


def test_who_controls_a_directory():
    me = os.geteuid()
    assert _safe_file._who_controls(fake_stat(UNUSED_ID, 0o755)) == "user uid %d" % UNUSED_ID
    assert _safe_file._who_controls(fake_stat(me, 0o777)) == "every user"
    assert _safe_file._who_controls(fake_stat(me, 0o775, gid=UNUSED_ID)) == "group gid %d" % UNUSED_ID
    assert _safe_file._who_controls(fake_stat(me, 0o775, gid=0)) == "group root"


def test_trusted_directories():
    me = os.geteuid()
    assert is_trusted_dir(fake_stat(0, 0o755)) and is_trusted_dir(fake_stat(me, 0o700))
    assert not is_trusted_dir(fake_stat(0, 0o775)) and not is_trusted_dir(fake_stat(0, 0o757))
    assert not is_trusted_dir(fake_stat(UNUSED_ID, 0o755))
    assert _safe_file._trusted_owner(0) and _safe_file._trusted_owner(me)
    assert not _safe_file._trusted_owner(1) and not _safe_file._trusted_owner(-1)


# --- owners and modes set through descriptors ------------------------------------------------------


def opened(path):
    target = _safe_file.SafePath(str(path), "write")
    target.read()
    return target


def owner_and_mode(path):
    info = os.stat(str(path))
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def test_a_written_file_is_0600_by_default_and_with_mode_none(tmp_path):
    target = opened(tmp_path / "a")
    target.write(b"x")
    target.write(b"y", name="b", mode=None)
    target.close()
    assert owner_and_mode(tmp_path / "a")[2] == 0o600 and owner_and_mode(tmp_path / "b")[2] == 0o600
    assert (tmp_path / "b").read_bytes() == b"y"


@ROOT_ONLY
@pytest.mark.parametrize("uid, gid", [(None, UNUSED_ID), (UNUSED_ID, None), (UNUSED_ID, UNUSED_ID + 1)])
def test_only_the_given_owner_or_group_changes(tmp_path, uid, gid):
    target = opened(tmp_path / "a")
    target.write(b"x", uid=uid, gid=gid, mode=0o640)
    target.close()
    want_uid = 0 if uid is None else uid
    want_gid = os.getegid() if gid is None else gid
    assert owner_and_mode(tmp_path / "a") == (want_uid, want_gid, 0o640)


@ROOT_ONLY
@pytest.mark.parametrize("uid, gid", [(None, UNUSED_ID), (UNUSED_ID, None)])
def test_a_created_directory_gets_only_the_given_owner_or_group(tmp_path, uid, gid):
    target = opened(tmp_path / "d" / "f")
    assert target.make_parent(0o750, uid, gid) is True
    target.close()
    want_uid = 0 if uid is None else uid
    want_gid = os.getegid() if gid is None else gid
    assert owner_and_mode(tmp_path / "d") == (want_uid, want_gid, 0o750)


def test_a_created_directory_is_0700_when_no_mode_is_given(tmp_path):
    target = opened(tmp_path / "d" / "f")
    assert target.make_parent(None) is True
    target.close()
    assert owner_and_mode(tmp_path / "d")[2] == 0o700


# --- walking: what is refused, word for word ---------------------------------------------------------

def refused(path, kind):
    with pytest.raises(_safe_file.SafeFileError) as info:
        opened(path)
    assert info.value.kind == kind
    return str(info.value)


def test_a_file_in_the_way_of_a_directory_is_named(tmp_path):
    (tmp_path / "f").write_text("x")
    message = refused(tmp_path / "f" / "x", "not_a_directory")
    assert message == "cannot write %s: %s is not a directory" % (tmp_path / "f" / "x", tmp_path / "f")


@pytest.mark.parametrize("suffix", ["/", "/..", "/a/.."])
def test_paths_that_name_no_file_are_refused(tmp_path, suffix):
    (tmp_path / "a").mkdir()
    message = refused(str(tmp_path) + suffix, "invalid_path")
    assert message.endswith(": it is not a file path")


def test_a_link_to_a_parent_directory_does_not_lead_to_a_file(tmp_path):
    os.symlink("..", str(tmp_path / "up"))
    message = refused(tmp_path / "up", "invalid_path")
    assert message == "cannot write %s: the link %s does not lead to a file" % (tmp_path / "up", tmp_path / "up")


def test_dot_dot_inside_a_path_climbs_one_level(tmp_path):
    (tmp_path / "a").mkdir()
    target = opened(tmp_path / "a" / ".." / "f")
    assert target.display == str(tmp_path / "f")
    target.close()


def link_chain(tmp_path, hops):
    (tmp_path / "file").write_text("end")
    previous = "file"
    for number in range(hops):
        name = "l%d" % number
        os.symlink(previous, str(tmp_path / name))
        previous = name
    return tmp_path / previous


def test_forty_link_hops_are_followed(tmp_path):
    target = opened(link_chain(tmp_path, 40))
    assert target.data == b"end"
    target.close()


def test_the_forty_first_link_hop_is_refused(tmp_path):
    message = refused(link_chain(tmp_path, 41), "io_error")
    assert message.endswith(": too many levels of symbolic links")


def test_a_directory_is_not_a_regular_file(tmp_path):
    (tmp_path / "d").mkdir()
    message = refused(tmp_path / "d", "not_regular_file")
    assert message == "cannot write %s: %s exists and is not a regular file; it was left untouched" % (
        tmp_path / "d", tmp_path / "d")


def test_a_file_with_one_link_is_read_in_an_untrusted_directory(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    (shared / "f").write_text("mine")
    target = opened(shared / "f")
    assert target.data == b"mine" and not target.dir_trusted
    target.close()


# --- ManagedFile: what apply() writes, creates and backs up -------------------------------------------


def test_managed_text_of_an_existing_and_a_missing_file(tmp_path):
    (tmp_path / "f").write_text("content\n")
    assert managed(tmp_path / "f")[0].text == "content\n"
    assert managed(tmp_path / "new")[0].text == ""


def test_managed_file_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "f").write_bytes(b"\xff\n")
    with pytest.raises(Failed) as info:
        managed(tmp_path / "f")
    result = info.value.args[0]
    assert result["error_kind"] == "not_utf8"
    assert result["msg"] == "%s is not UTF-8 text; it was left untouched. Fix: repair or move it" % (tmp_path / "f")


def test_managed_new_file_is_0600_and_its_missing_directory_is_created(tmp_path):
    target, result = managed(tmp_path / "dir" / "f")
    assert target.missing_dirs == 1
    target.apply("new\n", True, True, False, parent_mode="0750")
    assert result["changed"] is True and (tmp_path / "dir" / "f").read_text() == "new\n"
    assert owner_and_mode(tmp_path / "dir" / "f")[2] == 0o600
    assert owner_and_mode(tmp_path / "dir")[2] == 0o750


def test_managed_backup_only_when_asked_and_when_there_is_a_file(tmp_path):
    (tmp_path / "f").write_text("old\n")
    target, result = managed(tmp_path / "f")
    target.apply("new\n", True, False, False)
    assert "backup_file" not in result and sorted(os.listdir(str(tmp_path))) == ["f"]
    target, result = managed(tmp_path / "f", backup=True)
    target.apply("newer\n", True, False, False)
    assert open(result["backup_file"]).read() == "new\n" and (tmp_path / "f").read_text() == "newer\n"
    target, result = managed(tmp_path / "g", backup=True)
    target.apply("first\n", True, True, False)
    assert "backup_file" not in result and (tmp_path / "g").read_text() == "first\n"


@ROOT_ONLY
def test_managed_owner_change_alone_keeps_the_content(tmp_path):
    (tmp_path / "f").write_text("old\n")
    target, result = managed(tmp_path / "f", owner=str(UNUSED_ID))
    target.apply("ignored\n", False, False, False)
    assert result["changed"] is True and (tmp_path / "f").read_text() == "old\n"
    assert owner_and_mode(tmp_path / "f")[0] == UNUSED_ID
