"""Turn one batch of changed host paths into a live-update plan (spec rules 6, 11-14, 28-30).

Everything here is pure: the only filesystem access goes through the injectable
``exists`` / ``is_dir`` / ``walk`` callables, so tests run without touching disk.

Decisions beyond Tilt, marked [OURS] in the spec:

* deletes whose container path has an ancestor that is also deleted are dropped
  (``rm -rf /app/dir`` already removes ``/app/dir/a``);
* a sync whose destination is not an absolute POSIX path, or contains a ``..`` segment,
  raises :class:`InvalidSyncError` instead of letting a file escape its destination;
* an empty batch gives an empty :class:`Plan` (no runs, no restart).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from tilt_lsp.liveupdate.ignore import NULL_MATCHER, Matcher
from tilt_lsp.tiltfile.model import LiveUpdateSpec, RunStep, SyncStep

__all__ = [
    "Fallback",
    "FallbackReason",
    "InvalidSyncError",
    "MAX_LISTED_FILES",
    "Plan",
    "cmd_line",
    "collapse_deletes",
    "container_path",
    "container_updated_line",
    "display_path",
    "files_changed_header",
    "format_file_list",
    "go_quote",
    "initial_sync_plan",
    "is_within",
    "map_path",
    "plan",
    "pod_container_label",
    "short_container_id",
    "select_runs",
    "walk_files",
    "will_copy_lines",
    "will_delete_lines",
]

FallbackReason = Literal["unsynced", "fall_back_on"]
PathPredicate = Callable[[str], bool]

MAX_LISTED_FILES = 5


class InvalidSyncError(ValueError):
    """A sync destination that cannot be used safely (relative, or containing '..')."""


@dataclass(frozen=True)
class Plan:
    """What to do in each container, in this order: rm -rf deletes, tar copies, runs, restart."""

    copies: tuple[tuple[str, str], ...] = ()  # (local absolute path, container path)
    deletes: tuple[str, ...] = ()  # container paths, ancestors only
    runs: tuple[RunStep, ...] = ()
    restart: bool = False
    changed: tuple[str, ...] = ()  # every changed local path, normalised, sorted, deduped
    # (local path, container path) for each entry of ``deletes``, for the "Will delete" lines.
    delete_sources: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        """Nothing to copy, delete or run."""
        return not (self.copies or self.deletes or self.runs or self.restart)


@dataclass(frozen=True)
class Fallback:
    """Live update stops for this batch; a full image build + deploy replaces it."""

    reason: FallbackReason
    message: str  # exactly Tilt's UpdateStopped message
    paths: tuple[str, ...]


# ------------------------------------------------------------------------ mapping


def is_within(path: str, ancestor: str) -> bool:
    """True when ``path`` equals ``ancestor`` or lies below it (both normalised host paths)."""
    if path == ancestor:
        return True
    prefix = ancestor if ancestor.endswith(os.sep) else ancestor + os.sep
    return path.startswith(prefix)


def _destination(remote: str) -> str:
    """The normalised container destination of a sync, validated."""
    if not remote.startswith("/"):
        raise InvalidSyncError(f"sync destination is not absolute: {remote!r}")
    if ".." in remote.split("/"):
        raise InvalidSyncError(f"sync destination must not contain '..': {remote!r}")
    dest = posixpath.normpath(remote)
    return "/" + dest.lstrip("/")  # normpath keeps a leading '//'


def container_path(sync: SyncStep, local_path: str, is_dir: PathPredicate = os.path.isdir) -> str:
    """Container path of ``local_path`` (which must lie within ``sync.local``), rule 11."""
    local = os.path.normpath(sync.local)
    path = os.path.normpath(local_path)
    dest = _destination(sync.remote)
    if path == local:
        if sync.remote.endswith("/") and not is_dir(local):
            return posixpath.join(dest, os.path.basename(local))  # file-to-directory sync
        return dest
    if not is_within(path, local):
        raise ValueError(f"{local_path!r} is not within sync source {sync.local!r}")
    rel = path[len(local) :].lstrip(os.sep)
    parts = rel.split(os.sep)
    if ".." in parts or "" in parts:
        raise InvalidSyncError(f"refusing to map {local_path!r}: it would escape {dest!r}")
    result = posixpath.join(dest, "/".join(parts))
    if not _is_within_posix(result, dest):  # pragma: no cover - guarded above, kept as a last line
        raise InvalidSyncError(f"refusing to map {local_path!r}: it would escape {dest!r}")
    return result


def _is_within_posix(path: str, ancestor: str) -> bool:
    if path == ancestor or ancestor == "/":
        return path.startswith("/")
    return path.startswith(ancestor + "/")


def map_path(
    syncs: Sequence[SyncStep], path: str, is_dir: PathPredicate = os.path.isdir
) -> tuple[SyncStep, str] | None:
    """The first sync in declaration order containing ``path``, and the container path."""
    norm = os.path.normpath(path)
    for sync in syncs:
        if is_within(norm, os.path.normpath(sync.local)):
            return sync, container_path(sync, norm, is_dir)
    return None


def select_runs(runs: Iterable[RunStep], synced_paths: Iterable[str]) -> tuple[RunStep, ...]:
    """Rule 14: a run without triggers always runs; otherwise iff a synced path is within a trigger."""
    synced = list(synced_paths)
    selected: list[RunStep] = []
    for run in runs:
        if not run.triggers:
            selected.append(run)
            continue
        triggers = [os.path.normpath(t) for t in run.triggers]
        if any(is_within(p, t) for p in synced for t in triggers):
            selected.append(run)
    return tuple(selected)


def collapse_deletes(container_paths: Iterable[str]) -> tuple[str, ...]:
    """Sorted, deduped container paths without those whose ancestor is also listed [OURS]."""
    listed = set(container_paths)
    kept: list[str] = []
    for path in sorted(listed):
        ancestor = posixpath.dirname(path)
        covered = False
        while ancestor and ancestor != "/":
            if ancestor in listed:
                covered = True
                break
            ancestor = posixpath.dirname(ancestor)
        if not covered and not (path != "/" and "/" in listed):
            kept.append(path)
    return tuple(kept)


# ----------------------------------------------------------------------- planning


def plan(
    spec: LiveUpdateSpec,
    changed: Iterable[str],
    exists: PathPredicate = os.path.lexists,
    *,
    is_dir: PathPredicate = os.path.isdir,
    cwd: str | None = None,
) -> Plan | Fallback:
    """Plan one batch (rules 11-14).  Fallback is all-or-nothing for the whole batch.

    ``exists`` is consulted at apply time for rule 13 (missing -> delete, present -> copy);
    ``cwd`` only shortens the paths quoted in the "not matching any sync" message
    (default: the Tiltfile directory, where ``tilt up`` usually runs).
    """
    paths = sorted({os.path.normpath(p) for p in changed})
    if not paths:
        return Plan()

    mapped: list[tuple[str, str]] = []
    unsynced: list[str] = []
    for path in paths:
        hit = map_path(spec.syncs, path, is_dir)
        if hit is None:
            unsynced.append(path)
        else:
            mapped.append((path, hit[1]))
    if unsynced:
        files = format_file_list(unsynced, spec.base_dir if cwd is None else cwd)
        return Fallback("unsynced", f"Found file(s) not matching any sync (files: {files})", tuple(unsynced))

    stops = [p for p in paths if any(is_within(p, os.path.normpath(f)) for f in spec.fall_back_on)]
    if stops:
        return Fallback("fall_back_on", f"Detected change to stop file {go_quote(stops[0])}", tuple(stops))

    copies: list[tuple[str, str]] = []
    missing: dict[str, str] = {}  # container path -> local path
    for local, remote in mapped:
        if exists(local):
            copies.append((local, remote))
        else:
            missing.setdefault(remote, local)
    deletes = collapse_deletes(missing)
    return Plan(
        copies=tuple(copies),
        deletes=deletes,
        runs=select_runs(spec.runs, paths),
        restart=spec.restart_container,
        changed=tuple(paths),
        delete_sources=tuple((missing[d], d) for d in deletes),
    )


def walk_files(root: str, matcher: Matcher = NULL_MATCHER) -> Iterator[str]:
    """Every file, symlink or other non-directory under ``root`` (``root`` itself if it is one).

    Uses lstat semantics: symlinks, including links to directories, are yielded and never
    followed.  Directories the matcher can prune (e.g. ``.git``) are not descended.
    """
    root = os.path.normpath(root)
    if not os.path.lexists(root):
        return
    if not os.path.isdir(root) or os.path.islink(root):
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        kept: list[str] = []
        for name in dirnames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                yield full
            elif not matcher.prunable(full):
                kept.append(name)
        dirnames[:] = kept
        for name in filenames:
            yield os.path.join(dirpath, name)


def initial_sync_plan(
    spec: LiveUpdateSpec,
    matcher: Matcher,
    walk: Callable[[str], Iterable[str]] | None = None,
    *,
    is_dir: PathPredicate = os.path.isdir,
) -> Plan:
    """Rules 6/52: copy every non-ignored file under every sync; no deletes.

    Runs are filtered by triggers against the full file list; ``restart`` follows the spec.
    A file under two overlapping syncs goes where the first declared sync sends it.
    ``walk(root)`` yields the absolute paths under ``root`` (default: :func:`walk_files`
    pruning with ``matcher``).
    """
    files: set[str] = set()
    for sync in spec.syncs:
        entries = walk(sync.local) if walk is not None else walk_files(sync.local, matcher)
        for entry in entries:
            entry = os.path.normpath(entry)
            if not matcher.ignored(entry):
                files.add(entry)
    ordered = sorted(files)
    copies: list[tuple[str, str]] = []
    for path in ordered:
        hit = map_path(spec.syncs, path, is_dir)
        if hit is not None:
            copies.append((path, hit[1]))
    return Plan(
        copies=tuple(copies),
        runs=select_runs(spec.runs, ordered),
        restart=spec.restart_container,
        changed=tuple(ordered),
    )


# ------------------------------------------------------------ progress strings


def go_quote(text: str) -> str:
    """Quote like Go's ``%q`` (strconv.Quote), as used in Tilt's messages."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # undecodable byte kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def display_path(path: str, cwd: str | None) -> str:
    """``path`` relative to ``cwd`` when it lies below it, else unchanged."""
    if cwd:
        base = os.path.normpath(cwd)
        norm = os.path.normpath(path)
        if norm != base and is_within(norm, base):
            return norm[len(base) :].lstrip(os.sep)
    return path


def format_file_list(paths: Sequence[str], cwd: str | None) -> str:
    """Tilt's file list: ``[a b c d e ...]`` - at most 5 names, space separated (Go ``%v``)."""
    names = [display_path(p, cwd) for p in paths[:MAX_LISTED_FILES]]
    if len(paths) > MAX_LISTED_FILES:
        names.append("...")
    return "[" + " ".join(names) + "]"


def files_changed_header(paths: Sequence[str], cwd: str | None) -> str:
    """Batch header (rule 28): ``1 File Changed: [a.txt]`` / ``3 Files Changed: [a b c]``."""
    n = len(paths)
    return f"{n} File{'' if n == 1 else 's'} Changed: {format_file_list(paths, cwd)}"


def will_delete_lines(delete_sources: Sequence[tuple[str, str]], target: str) -> list[str]:
    """Rule 29: header plus one ``- '<container>' (matched local path: '<local>')`` per path."""
    if not delete_sources:
        return []
    lines = [f"Will delete {len(delete_sources)} file(s) from container: {target}"]
    lines += [f"- '{remote}' (matched local path: '{local}')" for local, remote in delete_sources]
    return lines


def will_copy_lines(copies: Sequence[tuple[str, str]], target: str) -> list[str]:
    """Rule 29: header plus one ``- '<local>' --> '<container>'`` per changed path."""
    if not copies:
        return []
    lines = [f"Will copy {len(copies)} file(s) to container: {target}"]
    lines += [f"- '{local}' --> '{remote}'" for local, remote in copies]
    return lines


def cmd_line(index: int, total: int, run: RunStep) -> str:
    """Rule 30: ``[CMD 1/2] sh -c make``; ``index`` is 1-based, argv joined by spaces."""
    return f"[CMD {index}/{total}] {' '.join(run.argv)}"


def pod_container_label(pod: str, container: str) -> str:
    """Kubernetes target shown in progress lines: ``<pod>/<container>``."""
    return f"{pod}/{container}"


def short_container_id(container_id: str) -> str:
    """Docker / Compose target shown in progress lines: the 10-character short id."""
    return container_id[:10]


def container_updated_line(target: str) -> str:
    """Rule 30 success line: ``  → Container <pod/ctr or short id> updated!``."""
    return f"  \u2192 Container {target} updated!"
