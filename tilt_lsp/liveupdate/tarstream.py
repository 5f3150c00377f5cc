"""Build the tar archive piped into ``tar -C / -x -f -`` in the container (spec rules 32-36).

Archive policy:

* entry names are container paths without the leading '/', normalised; a container path
  that is relative or has a ``..`` segment is rejected (listed in ``skipped``), so nothing
  can be written outside its destination; entries below a symlink entry are dropped too,
  since extraction would write through the link;
* the walk uses lstat only: symlinks are stored as symlinks with the link text unchanged and
  are never followed (a link to a directory is a link, not a tree); sockets, FIFOs and
  devices are skipped; directories get their own headers;
* directories are expanded recursively applying the image's ignore matcher [OURS rule 35];
* uid/gid are 0 and uname/gname empty in every header; permission bits are copied
  (Windows hosts: +x added, masked to 0755);
* mtime is PRESERVED from the host file, like Tilt (GNU tar restores it on extraction);
* every file is read to EOF before its header is written (in memory under 5 MB, in a
  spooled temporary file above), so the header size always matches the bytes sent even if
  the file grows or shrinks meanwhile - never a truncated archive.  A file whose size or
  mtime changed while it was read is still sent and listed in ``unstable`` so the caller can
  sync it again; a file that vanished between the walk and the read is skipped;
* duplicate names (overlapping syncs) keep the content of the last entry;
* GNU format (long names via ././@LongLink, no PAX headers), UTF-8 names with undecodable
  bytes preserved; the archive is padded to a full 10240-byte record, which the Kubernetes
  websocket exec needs since stdin cannot be half-closed.
"""

from __future__ import annotations

import builtins
import io
import logging
import os
import posixpath
import stat
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from tilt_lsp.liveupdate.ignore import NULL_MATCHER, Matcher

__all__ = [
    "ARCHIVE_MEMORY_LIMIT",
    "IN_MEMORY_FILE_LIMIT",
    "RECORD_SIZE",
    "TarResult",
    "build_tar",
    "entry_name",
]

_log = logging.getLogger(__name__)

IN_MEMORY_FILE_LIMIT = 5 * 1024 * 1024  # files below this are read into memory first
ARCHIVE_MEMORY_LIMIT = 16 * 1024 * 1024  # archives above this stay in a spooled temp file
RECORD_SIZE = tarfile.RECORDSIZE  # 20 blocks of 512 bytes = 10240
_CHUNK = 1024 * 1024

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)


@dataclass
class TarResult:
    """The archive and what went into it."""

    data: builtins.bytes | IO[builtins.bytes]  # bytes, or a spooled file positioned at 0
    entries: int  # members written
    bytes: int  # archive size including end blocks and record padding
    skipped: list[str] = field(default_factory=list)  # local paths left out (vanished, special, unsafe)
    unstable: list[str] = field(default_factory=list)  # local files that changed while being read
    names: list[str] = field(default_factory=list)  # member names in archive order
    skip_reasons: dict[str, str] = field(default_factory=dict)

    def getvalue(self) -> builtins.bytes:
        """The whole archive as bytes (reads the spooled file when there is one)."""
        if isinstance(self.data, builtins.bytes):
            return self.data
        self.data.seek(0)
        value = self.data.read()
        self.data.seek(0)
        return value

    def chunks(self, size: int = 64 * 1024) -> Iterator[builtins.bytes]:
        """The archive in pieces of at most ``size`` bytes (large single writes break exec streams)."""
        if isinstance(self.data, builtins.bytes):
            view = memoryview(self.data)
            for start in range(0, len(view), size):
                yield view[start : start + size].tobytes()
            return
        self.data.seek(0)
        while True:
            piece = self.data.read(size)
            if not piece:
                break
            yield piece

    def close(self) -> None:
        if not isinstance(self.data, builtins.bytes):
            self.data.close()


@dataclass
class _Entry:
    local: str
    st: os.stat_result


def entry_name(container_path: str) -> str | None:
    """Archive member name for a container path; None when it is relative or has '..'."""
    if not container_path.startswith("/"):
        return None
    if ".." in container_path.split("/"):
        return None
    name = posixpath.normpath(container_path).lstrip("/")
    return "" if name == "." else name


class _Collector:
    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.entries: dict[str, _Entry] = {}
        self.skipped: list[str] = []
        self.reasons: dict[str, str] = {}

    def skip(self, local: str, reason: str) -> None:
        if local not in self.reasons:
            self.skipped.append(local)
        self.reasons[local] = reason
        _log.debug("tar: skipping %s (%s)", local, reason)

    def add(self, name: str, local: str, st: os.stat_result) -> None:
        if name:  # the container root itself gets no header
            self.entries[name] = _Entry(local, st)

    def copy(self, local: str, container_path: str) -> None:
        name = entry_name(container_path)
        if name is None:
            self.skip(local, f"container path {container_path!r} would escape its destination")
            return
        try:
            st = os.lstat(local)
        except OSError:
            self.skip(local, "vanished")
            return
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            self.add(name, local, st)
            self.walk(local, name)
        elif stat.S_ISREG(mode) or stat.S_ISLNK(mode):
            self.add(name, local, st)
        else:
            self.skip(local, "not a regular file, directory or symlink")

    def walk(self, root: str, root_name: str) -> None:
        stack: list[tuple[str, str]] = [(root, root_name)]
        while stack:
            directory, dir_name = stack.pop()
            try:
                with os.scandir(directory) as it:
                    children = sorted(it, key=lambda e: e.name)
            except FileNotFoundError:
                self.skip(directory, "vanished")
                continue
            except OSError as e:
                self.skip(directory, f"unreadable directory: {e.strerror}")
                continue
            subdirs: list[tuple[str, str]] = []
            for child in children:
                full = child.path
                name = posixpath.join(dir_name, child.name) if dir_name else child.name
                try:
                    st = child.stat(follow_symlinks=False)
                except OSError:
                    self.skip(full, "vanished")
                    continue
                mode = st.st_mode
                if stat.S_ISDIR(mode):
                    if self.matcher.ignored(full):
                        if not self.matcher.prunable(full):
                            subdirs.append((full, name))  # an exception may re-include children
                        continue
                    self.add(name, full, st)
                    subdirs.append((full, name))
                elif self.matcher.ignored(full):
                    continue
                elif stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                    self.add(name, full, st)
                else:
                    self.skip(full, "not a regular file, directory or symlink")
            stack.extend(reversed(subdirs))


def _header(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    mode = stat.S_IMODE(st.st_mode)
    if os.name == "nt":
        mode = (mode | 0o111) & 0o755
    info.mode = mode
    info.mtime = int(st.st_mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _read_regular(path: str) -> tuple[IO[builtins.bytes], int, os.stat_result, bool] | None:
    """Open without following links and read to EOF: (buffer, size, stat, unstable) or None."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_BINARY)
    except OSError:
        return None  # vanished, replaced by a link, or unreadable
    with os.fdopen(fd, "rb") as f:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return None
        buffer: IO[builtins.bytes]
        if before.st_size < IN_MEMORY_FILE_LIMIT:
            content = f.read()
            buffer = io.BytesIO(content)
            size = len(content)
        else:
            buffer = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_FILE_LIMIT)
            size = 0
            while True:
                piece = f.read(_CHUNK)
                if not piece:
                    break
                buffer.write(piece)
                size += len(piece)
            buffer.seek(0)
        after = os.fstat(fd)
    unstable = size != before.st_size or (after.st_size, after.st_mtime_ns) != (
        before.st_size,
        before.st_mtime_ns,
    )
    return buffer, size, before, unstable


def _below_symlink(name: str, links: set[str]) -> bool:
    parent = posixpath.dirname(name)
    while parent:
        if parent in links:
            return True
        parent = posixpath.dirname(parent)
    return False


def build_tar(copies: Iterable[tuple[str, str]], matcher: Matcher | None = None) -> TarResult:
    """Archive a plan's ``(local path, container path)`` copies; see the module docstring."""
    collector = _Collector(matcher if matcher is not None else NULL_MATCHER)
    for local, container in copies:
        collector.copy(os.path.normpath(local), container)

    links = {n for n, e in collector.entries.items() if stat.S_ISLNK(e.st.st_mode)}
    spool = tempfile.SpooledTemporaryFile(max_size=ARCHIVE_MEMORY_LIMIT)
    names: list[str] = []
    unstable: list[str] = []
    with tarfile.open(
        fileobj=spool, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for name, entry in collector.entries.items():
            if links and _below_symlink(name, links):
                collector.skip(entry.local, "below a symlink in the archive")
                continue
            mode = entry.st.st_mode
            info = _header(name, entry.st)
            if stat.S_ISDIR(mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISLNK(mode):
                try:
                    target = os.readlink(entry.local)
                except OSError:
                    collector.skip(entry.local, "vanished")
                    continue
                info.type = tarfile.SYMTYPE
                info.linkname = target
                tar.addfile(info)
            else:
                read = _read_regular(entry.local)
                if read is None:
                    collector.skip(entry.local, "vanished or no longer a regular file")
                    continue
                buffer, size, st, changed = read
                with buffer:
                    info = _header(name, st)
                    info.type = tarfile.REGTYPE
                    info.size = size
                    tar.addfile(info, buffer)
                if changed:
                    unstable.append(entry.local)
            names.append(name)

    size = spool.tell()
    data: builtins.bytes | IO[builtins.bytes]
    spool.seek(0)
    if size <= ARCHIVE_MEMORY_LIMIT:
        data = spool.read()
        spool.close()
    else:
        data = spool
    return TarResult(
        data=data,
        entries=len(names),
        bytes=size,
        skipped=collector.skipped,
        unstable=unstable,
        names=names,
        skip_reasons=collector.reasons,
    )
