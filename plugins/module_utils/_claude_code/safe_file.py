# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File reads and writes that are safe for a root task in directories other users control.

A module running as root edits files such as ``~/.claude/settings.json`` or a CI runner's ``.env``, in
directories an unprivileged user (or a CI job) can change. Following a symbolic link planted there would
let that user have another file read, copied, chowned, rewritten or deleted. So every path is walked from
``/`` one component at a time with directory file descriptors, and:

* a symbolic link (on the way or at the end) is followed only when it is *trusted*: the link and the
  directory holding it are owned by root (or by the user running the module) and that directory is not
  group- or world-writable (an admin's ``/home/alice -> /data/alice``). Any other link is refused.
* the file is opened without following links and must be a regular file; in a directory that is not
  trusted, a file with more than one hard link (maybe someone else's file) is refused.
* a new content goes to a fresh temporary file created beside the target (``O_EXCL|O_NOFOLLOW``), whose
  owner and mode are set through its descriptor, then renamed over the target. Nothing is ever chowned or
  chmodded by path; an owner change rewrites the file, so only a file this code just created is chowned.

Everything here works on descriptors relative to the directory found by the walk, so swapping a path
component afterwards cannot redirect a write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import grp
import os
import pwd
import re
import stat
import time

MAX_LINK_HOPS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC


class SafeFileError(Exception):
    """A file that cannot be handled safely; ``kind`` names the reason for the module result."""

    kind = "file_error"

    def __init__(self, msg, kind=None):
        super(SafeFileError, self).__init__(msg)
        if kind:
            self.kind = kind


class UnsafePathError(SafeFileError):
    """A symbolic or hard link someone other than root controls: never followed."""

    kind = "unsafe_path"


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def _group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return "gid %d" % gid


def _trusted_owner(uid):
    return uid == 0 or uid == os.geteuid()


def is_trusted_dir(dir_stat):
    """A directory only root (or the user running this) can change."""
    return _trusted_owner(dir_stat.st_uid) and not dir_stat.st_mode & 0o022


def _who_controls(dir_stat):
    if not _trusted_owner(dir_stat.st_uid):
        return "user %s" % _user_name(dir_stat.st_uid)
    if dir_stat.st_mode & 0o002:
        return "every user"
    return "group %s" % _group_name(dir_stat.st_gid)


def _runner():
    return "a root task" if os.geteuid() == 0 else "this task"


def _split(path):
    return [part for part in path.split("/") if part not in ("", ".")]


def _join(directory, name):
    return directory.rstrip("/") + "/" + name if directory != "/" else "/" + name


def parse_mode(value):
    """A mode given as an int (0o600) or an octal string ("0600", "600"); None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("mode %r is not a file mode" % (value,))
    if isinstance(value, int):
        mode = value
    elif isinstance(value, str) and re.match(r"^0?[0-7]{3,4}$", value.strip()):
        mode = int(value.strip(), 8)
    else:
        raise ValueError("mode %r is not an octal mode; give it quoted, like '0600' (symbolic modes such as "
                         "u=rw are not supported here)" % (value,))
    if mode < 0 or mode > 0o7777:
        raise ValueError("mode %r is out of range" % (value,))
    return mode


def _resolve_id(value, by_name, what):
    """The id of a name or number (``by_name`` looks the name up); None stays None."""
    if value is None or value == "":
        return None
    try:
        return by_name(str(value))
    except KeyError:
        if re.match(r"^\d+$", str(value)):
            return int(value)
        raise ValueError("%s %s does not exist on this host" % (what, value))


def resolve_user(value):
    """uid of a user name or number; None stays None."""
    return _resolve_id(value, lambda name: pwd.getpwnam(name).pw_uid, "user")


def resolve_group(value):
    """gid of a group name or number; None stays None."""
    return _resolve_id(value, lambda name: grp.getgrnam(name).gr_gid, "group")


def _close(fd):
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


class SafePath(object):
    """A path walked safely: the descriptor of its directory, the file's name in it, and the file.

    ``action`` words the refusals ("write", "edit"). When directories are missing, ``missing`` holds how
    many levels (the file's own directory counting one), ``parent_fd`` the deepest existing one and
    ``missing_name`` the first missing name in it; ``dir_fd`` is then None.
    """

    def __init__(self, path, action="write"):
        self.path = path
        self.action = action
        self.dir_fd = None
        self.dir_stat = None
        self.dir_display = None
        self.name = None
        self.parent_fd = None
        self.parent_display = None
        self.missing = 0
        self.missing_name = None
        self.fd = None
        self.stat = None
        self.data = None
        self._walk()

    # ------------------------------------------------------------------ walking
    def _refuse(self, problem, fix):
        raise UnsafePathError("refusing to %s %s: %s; %s never follows it. Fix: %s"
                              % (self.action, self.path, problem, _runner(), fix))

    def _fail(self, msg, kind="file_error"):
        raise SafeFileError("cannot %s %s: %s" % (self.action, self.path, msg), kind)

    def _check_link(self, fd, display, name, final):
        """Return the target of the link ``name`` in ``fd`` if it is trusted, else refuse."""
        link = _join(display, name)
        dir_stat = os.fstat(fd)
        link_stat = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if final:
            fix = ("remove the link (rm %s; the task then writes a regular file there) or give the real path, and "
                   "run again" % link)
        else:
            fix = "remove the link (mkdir %s) or give the path without it, and run again" % link
        if not is_trusted_dir(dir_stat):
            self._refuse("%s is a symbolic link in a directory that %s controls" % (link, _who_controls(dir_stat)),
                         fix)
        if not _trusted_owner(link_stat.st_uid):
            self._refuse("%s is a symbolic link owned by user %s" % (link, _user_name(link_stat.st_uid)), fix)
        return os.readlink(name, dir_fd=fd)

    def _walk(self):
        path = self.path
        if not path or path.endswith("/"):
            self._fail("it is not a file path", "invalid_path")
        if not path.startswith("/"):
            path = os.getcwd().rstrip("/") + "/" + path
        parts = _split(path)
        if not parts or parts[-1] == "..":
            self._fail("it is not a file path", "invalid_path")
        fd = os.open("/", _DIR_FLAGS)
        display = "/"
        hops = 0
        try:
            while True:
                name = parts.pop(0)
                final = not parts
                if name == "..":
                    new = os.open("..", _DIR_FLAGS, dir_fd=fd)
                    os.close(fd)
                    fd, display = new, os.path.dirname(display.rstrip("/")) or "/"
                    continue
                try:
                    if final:
                        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                        if not stat.S_ISLNK(info.st_mode):
                            self.dir_fd, self.dir_display, self.name = fd, display, name
                            self.dir_stat = os.fstat(fd)
                            fd = None
                            return
                        new = None
                    else:
                        new = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno == errno.ENOENT:
                        if final:  # a file that does not exist yet
                            self.dir_fd, self.dir_display, self.name = fd, display, name
                            self.dir_stat = os.fstat(fd)
                            fd = None
                            return
                        self.parent_fd, self.parent_display, self.missing_name = fd, display, name
                        self.missing = len(parts)
                        self.name = parts[-1]
                        fd = None
                        return
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        self._fail("%s: %s" % (_join(display, name), os.strerror(exc.errno)), "io_error")
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if not stat.S_ISLNK(info.st_mode):
                        self._fail("%s is not a directory" % _join(display, name), "not_a_directory")
                    new = None
                if new is not None:
                    os.close(fd)
                    fd, display = new, _join(display, name)
                    continue
                # A symbolic link: follow it only if trusted, by walking its target instead.
                target = self._check_link(fd, display, name, final)
                hops += 1
                if hops > MAX_LINK_HOPS:
                    self._fail("too many levels of symbolic links", "io_error")
                if target.startswith("/"):
                    os.close(fd)
                    fd, display = os.open("/", _DIR_FLAGS), "/"
                parts = _split(target) + parts
                if not parts or (final and parts[-1] == ".."):
                    self._fail("the link %s does not lead to a file" % _join(display, name), "invalid_path")
        finally:
            _close(fd)

    @property
    def display(self):
        """Where the file really is (after trusted links)."""
        if self.dir_fd is None:
            return self.path
        return _join(self.dir_display, self.name)

    @property
    def dir_trusted(self):
        return self.dir_stat is not None and is_trusted_dir(self.dir_stat)

    # ------------------------------------------------------------------ reading
    def read(self):
        """Open and read the file; ``exists`` tells if it is there. Fails on anything but a plain file."""
        if self.dir_fd is None:
            return self
        try:
            info = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return self
            self._fail(os.strerror(exc.errno), "io_error")
        if stat.S_ISLNK(info.st_mode):
            self._refuse("%s became a symbolic link while it was being read" % self.display,
                         "find out who replaced it, remove the link and run again")
        if not stat.S_ISREG(info.st_mode):
            self._fail("%s exists and is not a regular file; it was left untouched" % self.display,
                       "not_regular_file")
        try:
            self.fd = os.open(self.name, _READ_FLAGS, dir_fd=self.dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._refuse("%s became a symbolic link while it was being read" % self.display,
                             "find out who replaced it, remove the link and run again")
            self._fail(os.strerror(exc.errno), "io_error")
        self.stat = os.fstat(self.fd)
        if not stat.S_ISREG(self.stat.st_mode):
            self._fail("%s exists and is not a regular file; it was left untouched" % self.display,
                       "not_regular_file")
        if self.stat.st_nlink > 1 and not self.dir_trusted:
            self._refuse("%s has %d hard links and sits in a directory that %s controls (it may be another file "
                         "linked there)" % (self.display, self.stat.st_nlink, _who_controls(self.dir_stat)),
                         "remove it (rm %s) and run again; the task then writes a file of its own there"
                         % self.display)
        chunks = []
        while True:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        self.data = b"".join(chunks)
        return self

    @property
    def exists(self):
        return self.stat is not None

    # ------------------------------------------------------------------ writing
    def make_parent(self, mode, uid=None, gid=None):
        """Create the file's missing directory (one level only), owned and moded through its descriptor."""
        if self.missing != 1 or self.parent_fd is None:
            self._fail("its directory does not exist", "missing_directory")
        name = self.missing_name
        try:
            os.mkdir(name, 0o700, dir_fd=self.parent_fd)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                self._fail("cannot create %s: %s" % (_join(self.parent_display, name), os.strerror(exc.errno)),
                           "io_error")
            created = False
        else:
            created = True
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=self.parent_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                self._refuse("%s was replaced by something that is not a directory while it was being created"
                             % _join(self.parent_display, name), "remove it and run again")
            raise
        if created:
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            if mode is not None:
                os.fchmod(fd, mode)
        os.fsync(self.parent_fd)
        self.dir_fd, self.dir_display, self.dir_stat = fd, _join(self.parent_display, name), os.fstat(fd)
        self.missing = 0
        return created

    def write(self, data, uid=None, gid=None, mode=0o600, name=None):
        """Replace the file (or write ``name`` beside it) with ``data``: temporary file, owner and mode set
        on its descriptor, fsync, rename, fsync of the directory."""
        if self.dir_fd is None:
            self._fail("its directory does not exist", "missing_directory")
        name = name or self.name
        tmp, fd = None, None
        for _attempt in range(20):
            tmp = ".%s.%s" % (name, binascii.hexlify(os.urandom(6)).decode("ascii"))
            try:
                fd = os.open(tmp, _CREATE_FLAGS, 0o600, dir_fd=self.dir_fd)
                break
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    self._fail("cannot create a temporary file in %s: %s"
                               % (self.dir_display, os.strerror(exc.errno)), "io_error")
        if fd is None:
            self._fail("cannot create a temporary file in %s" % self.dir_display, "io_error")
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
            if uid is not None or gid is not None:
                os.fchown(fd, -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(fd, 0o600 if mode is None else mode)  # after fchown, which clears set-id bits
            os.close(fd)
            fd = None
            os.rename(tmp, name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            tmp = None
        except OSError as exc:
            self._fail(os.strerror(exc.errno), "io_error")
        finally:
            _close(fd)
            if tmp is not None:
                try:
                    os.unlink(tmp, dir_fd=self.dir_fd)
                except OSError:
                    pass
        os.fsync(self.dir_fd)
        return _join(self.dir_display, name)

    def chmod(self, mode):
        """Change the mode of the file read (through its descriptor)."""
        os.fchmod(self.fd, mode)

    def unlink(self):
        try:
            os.unlink(self.name, dir_fd=self.dir_fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self._fail(os.strerror(exc.errno), "io_error")
        os.fsync(self.dir_fd)

    def backup(self):
        """A copy of the file read, beside it, named like Ansible's backups; returns its path."""
        name = "%s.%s.%s" % (self.name, os.getpid(), time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime()))
        return self.write(self.data, self.stat.st_uid, self.stat.st_gid, stat.S_IMODE(self.stat.st_mode), name=name)

    def close(self):
        for attr in ("fd", "dir_fd", "parent_fd"):
            _close(getattr(self, attr))
            setattr(self, attr, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_file(path):
    """The bytes of the file at ``path``, or None when it is not there; a link someone else controls is refused
    (SafeFileError), so a root task can read in directories other users control."""
    with SafePath(path, "read") as target:
        return target.read().data


# --------------------------------------------------------------------------------------------------
# What the modules share: the file arguments, one read and one apply.
# --------------------------------------------------------------------------------------------------

FILE_ARGUMENT_SPEC = dict(
    mode=dict(type="raw"),
    owner=dict(type="str"),
    group=dict(type="str"),
)


class ManagedFile(object):
    """One text file a module edits as root: read it safely, then write, re-own or delete it safely.

    Every refusal ends the module with ``error_kind`` (``unsafe_path`` for a link) and the file untouched.
    """

    def __init__(self, module, path, result, action="write"):
        self.module, self.result = module, result
        params = module.params
        try:
            self.mode = parse_mode(params.get("mode"))
            self.uid = resolve_user(params.get("owner"))
            self.gid = resolve_group(params.get("group"))
        except ValueError as exc:
            module.fail_json(msg="%s: %s" % (path, exc), error_kind="invalid_argument", **result)
        self.target = self._guard(lambda: SafePath(path, action).read())
        self.text = ""
        if self.target.exists:
            try:
                self.text = self.target.data.decode("utf-8")
            except UnicodeDecodeError:
                self.fail("%s is not UTF-8 text; it was left untouched. Fix: repair or move it" % path,
                          "not_utf8")

    def _guard(self, func):
        try:
            return func()
        except SafeFileError as exc:
            self.fail(str(exc), exc.kind)
        except OSError as exc:
            self.fail("cannot handle %s: %s" % (self.module.params.get("path"), exc.strerror or exc), "io_error")

    def fail(self, msg, kind):
        target = getattr(self, "target", None)
        if target is not None:
            target.close()
        self.module.fail_json(msg=msg, error_kind=kind, **self.result)

    @property
    def exists(self):
        return self.target.exists

    @property
    def missing_dirs(self):
        """How many directory levels above the file are missing (0: its directory exists)."""
        return self.target.missing

    def _wanted(self):
        """(uid, gid, mode) the file should end with; None where nothing is asked and nothing is there."""
        st = self.target.stat
        if st is None:
            return self.uid, self.gid, 0o600 if self.mode is None else self.mode
        return (st.st_uid if self.uid is None else self.uid, st.st_gid if self.gid is None else self.gid,
                stat.S_IMODE(st.st_mode) if self.mode is None else self.mode)

    def apply(self, content, changed, create, delete, parent_mode=None):
        """Write ``content`` (or delete the file) when ``changed``; fix owner, group and mode of a file that
        stays. Nothing is written in check mode, where the result predicts the change. Sets
        result['changed'] (and backup_file)."""
        self.result["changed"] = self._guard(lambda: self._apply(content, changed, create, delete, parent_mode))
        self.target.close()

    def _apply(self, content, changed, create, delete, parent_mode):
        module, target = self.module, self.target
        check = module.check_mode
        uid, gid, mode = self._wanted()
        st = target.stat
        attrs_differ = st is not None and (uid, gid, mode) != (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
        owner_differs = st is not None and (uid, gid) != (st.st_uid, st.st_gid)
        if delete:
            changed = True
        elif not (changed or attrs_differ):
            return False
        if check:
            return True
        if not delete and target.missing:
            target.make_parent(parse_mode(parent_mode), self.uid, self.gid)
        if module.params.get("backup") and target.exists and (changed or delete):
            self.result["backup_file"] = target.backup()
        if delete:
            target.unlink()
        elif changed or owner_differs:
            target.write(content.encode("utf-8") if changed else target.data, uid, gid, mode)
        elif attrs_differ:
            target.chmod(mode)
        return True
