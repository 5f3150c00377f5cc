"""Which host paths an image's file watcher must ignore.

A change to an ignored path never reaches live update: it is neither synced nor able to
trigger a fallback (spec rule 7).  One :class:`PathMatcher` is built per image by
:func:`build_matcher` from these sources, combined with OR (a path is ignored as soon as
one source ignores it; a ``!`` exception only re-includes paths within its own source):

* the context's ``.dockerignore``, or ``<Dockerfile>.dockerignore`` when that file exists
  (it then replaces the context one, as BuildKit does) - ``docker_build`` only;
* the image's ``ignore=`` patterns (same syntax; for ``custom_build`` evaluated relative to
  each ``deps`` entry, for ``docker_build`` relative to the context);
* the image's ``only=`` entries: everything under the context is excluded except the
  listed paths and their descendants (entries are literal paths, not globs);
* ``.tiltignore`` in the Tiltfile directory and ``watch_settings(ignore=)`` patterns, both
  relative to the Tiltfile directory;
* built-ins: every ``.git`` directory, the Tiltfile(s), the image's Dockerfile, and editor
  temporary files (vim swap files and ``4913``, ``*~``, emacs ``.#*`` / ``#*#``, JetBrains
  ``*___jb_tmp___`` / ``*___jb_old___`` / ``.idea/**``, kate ``.*.kate-swp``).

Pattern syntax (our own implementation of the documented ``.dockerignore`` rules):

* one pattern per line; in files, blank lines and lines starting with ``#`` are skipped; surrounding
  whitespace is trimmed, a leading ``!`` makes the pattern an exception;
* a pattern is cleaned like a path (``.`` and ``..`` segments resolved, duplicate slashes
  collapsed) and leading / trailing slashes are dropped: it is always relative to its base;
* ``*`` matches any run of characters except ``/``, ``?`` one character except ``/``,
  ``[...]`` a character class (``[!...]`` or ``[^...]`` negated, never matching ``/``),
  ``\\x`` the literal ``x``; ``**/`` matches zero or more whole directories and any other
  ``**`` matches any run of characters including ``/``;
* a pattern matching a directory also matches everything below it; the last matching
  pattern decides, so ``dir`` followed by ``!dir/keep`` excludes ``dir`` but keeps
  ``dir/keep`` and its descendants;
* a malformed pattern (say an invalid range ``[z-a]``) is matched literally instead of
  failing the build; an unterminated ``[`` is a literal ``[``.

Not ignored on purpose: Go-style ``*.tmp.<digits>`` temporaries (we could not confirm the
exact convention, and the pattern would hide legitimate files).
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tilt_lsp.tiltfile.model import Image

__all__ = [
    "EDITOR_TEMP_DESCRIPTION",
    "Matcher",
    "NULL_MATCHER",
    "PathMatcher",
    "PatternSet",
    "build_matcher",
    "parse_ignore_file",
    "translate_pattern",
]

_log = logging.getLogger(__name__)

EDITOR_TEMP_DESCRIPTION = (
    "vim .*.swp/.swx/.swo/.swn and 4913, *~, emacs .#* and #*#, "
    "JetBrains *___jb_tmp___/*___jb_old___ and .idea/**, kate .*.kate-swp"
)

# Basenames of editor temporaries, ignored in every directory.
_EDITOR_BASENAME = re.compile(
    r"\.[^/]*\.sw[pxon]"  # vim swap files: .name.swp, .swx, .swo, .swn
    r"|4913"  # vim's probe file checking that a directory is writable
    r"|.*~"  # vim / emacs backups
    r"|\.#.*"  # emacs lock files
    r"|#.*#"  # emacs auto-save files
    r"|.*___jb_(?:tmp|old)___"  # JetBrains safe-write temporaries
    r"|\.[^/]*\.kate-swp",  # kate swap files
    re.DOTALL,
)


class Matcher(Protocol):
    """What the planner and the tar builder need from an ignore matcher."""

    def ignored(self, path: str) -> bool:
        """True when the absolute host path must be ignored."""
        ...

    def prunable(self, path: str) -> bool:
        """True when the directory and everything below it is ignored (safe to skip)."""
        ...


class _NullMatcher:
    def ignored(self, path: str) -> bool:
        return False

    def prunable(self, path: str) -> bool:
        return False


NULL_MATCHER: Matcher = _NullMatcher()


# ------------------------------------------------------------------ pattern syntax


def _translate_class(pat: str, start: int) -> tuple[str, int] | None:
    """Translate the ``[...]`` starting at ``pat[start]``; None when unterminated."""
    i = start + 1
    n = len(pat)
    negated = False
    if i < n and pat[i] in "!^":
        negated = True
        i += 1
    body: list[str] = []
    first = True
    while i < n:
        c = pat[i]
        if c == "]" and not first:
            break
        if c == "\\" and i + 1 < n:
            body.append(re.escape(pat[i + 1]))
            i += 2
        else:
            # '-' keeps its range meaning; everything else that is special inside a class is escaped.
            body.append("\\" + c if c in "\\]^[" else c)
            i += 1
        first = False
    else:
        return None
    inner = "".join(body)
    if negated:
        return f"[^/{inner}]", i + 1
    return f"[{inner}]", i + 1


def translate_pattern(pattern: str) -> str:
    """Regex (unanchored) for one cleaned pattern, matched against '/'-separated relative paths."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            if j - i == 1:
                out.append("[^/]*")
            elif (i == 0 or pattern[i - 1] == "/") and j < n and pattern[j] == "/":
                out.append("(?:.*/)?")  # '**/' at a segment start: zero or more directories
                j += 1
            else:
                out.append(".*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            translated = _translate_class(pattern, i)
            if translated is None:
                out.append(re.escape(c))
                i += 1
            else:
                out.append(translated[0])
                i = translated[1]
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _escape_literal(path: str) -> str:
    """Make a literal path safe to use as a pattern (used for ``only=`` entries)."""
    return re.sub(r"([*?\[\\])", r"\\\1", path)


def _clean_pattern(raw: str, base: str | None = None) -> tuple[str, bool] | None:
    """Return (cleaned pattern, is_exception), or None for blanks, comments and no-ops.

    ``base`` enables one convenience for patterns written in a Tiltfile: an absolute path
    inside ``base`` is made relative to it.  Otherwise a leading '/' means "the base".
    """
    pat = raw.strip()  # comments are only a thing in ignore files (parse_ignore_file)
    if not pat:
        return None
    negated = pat.startswith("!")
    if negated:
        pat = pat[1:].strip()
        if not pat:
            return None
    if os.sep != "/":
        pat = pat.replace(os.sep, "/")
    if base is not None and os.path.isabs(pat):
        prefix = base.replace(os.sep, "/").rstrip("/") + "/"
        if pat.startswith(prefix):
            pat = pat[len(prefix) :]
    pat = posixpath.normpath(pat).lstrip("/")
    if pat in ("", "."):
        return None
    return pat, negated


def parse_ignore_file(text: str) -> list[str]:
    """The pattern lines of a .dockerignore / .tiltignore file, as written (BOM removed)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@dataclass(frozen=True)
class _Rule:
    pattern: str
    negated: bool
    regex: re.Pattern[str]


class PatternSet:
    """One ordered list of dockerignore-style patterns relative to one base directory."""

    __slots__ = ("base", "label", "rules", "_prefix", "_any_exclude", "_has_negation")

    def __init__(
        self, base: str, patterns: Iterable[str], label: str = "", *, tiltfile_values: bool = False
    ) -> None:
        self.base = os.path.normpath(base)
        self.label = label
        self._prefix = self.base if self.base.endswith(os.sep) else self.base + os.sep
        rules: list[_Rule] = []
        for raw in patterns:
            cleaned = _clean_pattern(raw, self.base if tiltfile_values else None)
            if cleaned is None:
                continue
            pat, negated = cleaned
            body = translate_pattern(pat)
            try:
                regex = re.compile(f"(?:{body})(?:/.*)?", re.DOTALL)
            except re.error:
                regex = re.compile(f"(?:{re.escape(pat)})(?:/.*)?", re.DOTALL)
            rules.append(_Rule(pat, negated, regex))
        self.rules: tuple[_Rule, ...] = tuple(rules)
        self._has_negation = any(r.negated for r in rules)
        excludes = [r.regex.pattern for r in rules if not r.negated]
        self._any_exclude: re.Pattern[str] | None = (
            re.compile("|".join(f"(?:{p})" for p in excludes), re.DOTALL) if excludes else None
        )

    @classmethod
    def for_only(cls, base: str, entries: Iterable[str], label: str = "only=") -> PatternSet:
        """``only=[...]``: exclude everything, then re-include each literal path."""
        patterns = ["**"]
        prefix = os.path.normpath(base) + os.sep
        for entry in entries:
            entry = entry.strip().replace(os.sep, "/")
            if os.path.isabs(entry) and entry.startswith(prefix.replace(os.sep, "/")):
                entry = entry[len(prefix) :]
            if posixpath.normpath(entry) in (".", "/"):
                return cls(base, (), label)  # only=['.'] keeps the whole context
            if entry:
                patterns.append("!" + _escape_literal(entry))
        return cls(base, patterns, label)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def relative(self, path: str) -> str | None:
        """'/'-separated path relative to the base, None when outside it (or the base itself)."""
        if not path.startswith(self._prefix):
            return None
        rel = path[len(self._prefix) :]
        if not rel:
            return None
        return rel if os.sep == "/" else rel.replace(os.sep, "/")

    def excluded(self, rel: str) -> bool:
        """Whether the relative path is excluded by this set (last matching rule wins)."""
        any_exclude = self._any_exclude
        if any_exclude is None or any_exclude.fullmatch(rel) is None:
            return False
        if not self._has_negation:
            return True
        for rule in reversed(self.rules):
            if rule.regex.fullmatch(rel) is not None:
                return not rule.negated
        return False  # pragma: no cover - the combined regex matched, so some rule does

    def excludes_subtree(self, rel: str) -> bool:
        """True when ``rel`` and every path below it are excluded."""
        if not self.excluded(rel):
            return False
        if not self._has_negation:
            return True
        # An exception could re-include something below: only safe when no exception can.
        for rule in self.rules:
            if rule.negated and not _literal_prefix_excludes(rule.pattern, rel):
                return False
        return True


def _literal_prefix_excludes(pattern: str, rel: str) -> bool:
    """True when ``pattern`` provably cannot match anything at or below ``rel``.

    Compares the literal leading segments of the pattern with those of ``rel``: a mismatch in
    a segment that contains no wildcard rules the pattern out.
    """
    for p_seg, r_seg in zip(pattern.split("/"), rel.split("/"), strict=False):
        if any(ch in p_seg for ch in "*?[\\"):
            return False
        if p_seg != r_seg:
            return True
    return False


# ------------------------------------------------------------------------ matcher


class PathMatcher:
    """Precompiled ignore rules for one image.  ``ignored(abs_path)`` is the hot path."""

    def __init__(
        self,
        sets: Sequence[PatternSet] = (),
        exact: Iterable[str] = (),
        *,
        builtin: bool = True,
    ) -> None:
        self.sets: tuple[PatternSet, ...] = tuple(s for s in sets if s)
        self.exact: frozenset[str] = frozenset(os.path.normpath(p) for p in exact)
        self.builtin = builtin
        sep = re.escape(os.sep)
        # Every .git directory (and the .git file of worktrees), and anything under .idea.
        self._component = re.compile(rf"{sep}\.git(?:{sep}|$)|{sep}\.idea{sep}", re.DOTALL)

    def _builtin_reason(self, path: str) -> str | None:
        if path in self.exact:
            return "Tiltfile or Dockerfile"
        if not self.builtin:
            return None
        if self._component.search(path) is not None:
            return ".git or .idea directory"
        if _EDITOR_BASENAME.fullmatch(path.rpartition(os.sep)[2]) is not None:
            return "editor temporary file"
        return None

    def ignored(self, path: str) -> bool:
        path = os.path.normpath(path)
        if self._builtin_reason(path) is not None:
            return True
        for s in self.sets:
            rel = s.relative(path)
            if rel is not None and s.excluded(rel):
                return True
        return False

    __call__ = ignored

    def why(self, path: str) -> str | None:
        """Human-readable reason a path is ignored (for hovers and logs), None when it is not."""
        path = os.path.normpath(path)
        reason = self._builtin_reason(path)
        if reason is not None:
            return reason
        for s in self.sets:
            rel = s.relative(path)
            if rel is not None and s.excluded(rel):
                return s.label or s.base
        return None

    def prunable(self, path: str) -> bool:
        path = os.path.normpath(path)
        if path in self.exact:
            return False  # a file name, not a directory rule
        if self.builtin and self._component.search(path) is not None:
            return True
        for s in self.sets:
            rel = s.relative(path)
            if rel is not None and s.excludes_subtree(rel):
                return True
        return False


# ----------------------------------------------------------------------- building


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        _log.warning("cannot read ignore file %s: %s", path, e)
        return None


def build_matcher(
    image: Image,
    tiltfile_dir: str,
    watch_ignores: Sequence[str],
    *,
    tiltfiles: Sequence[str] | None = None,
    read_file: Callable[[str], str | None] = _read_text,
) -> PathMatcher:
    """Build the ignore matcher for one image (reads the ignore files once, now).

    ``tiltfiles`` lists the Tiltfile paths to ignore (default: ``<tiltfile_dir>/Tiltfile``);
    ``read_file`` returns a file's text or None when it does not exist (injectable for tests).
    """
    sets: list[PatternSet] = []
    if image.kind == "docker_build":
        candidates = [os.path.join(image.context, ".dockerignore")]
        if image.dockerfile:
            candidates.insert(0, image.dockerfile + ".dockerignore")
        for candidate in candidates:
            text = read_file(candidate)
            if text is not None:
                sets.append(PatternSet(image.context, parse_ignore_file(text), candidate))
                break
        if image.ignore:
            sets.append(PatternSet(image.context, image.ignore, "ignore=", tiltfile_values=True))
        if image.only:
            sets.append(PatternSet.for_only(image.context, image.only))
    else:
        if image.ignore:
            for dep in image.deps or (image.context,):
                sets.append(PatternSet(dep, image.ignore, "ignore=", tiltfile_values=True))
        if image.only:
            sets.append(PatternSet.for_only(image.context, image.only))

    tiltignore = os.path.join(tiltfile_dir, ".tiltignore")
    text = read_file(tiltignore)
    if text is not None:
        sets.append(PatternSet(tiltfile_dir, parse_ignore_file(text), tiltignore))
    if watch_ignores:
        sets.append(PatternSet(tiltfile_dir, watch_ignores, "watch_settings(ignore=)", tiltfile_values=True))

    exact = list(tiltfiles) if tiltfiles is not None else [os.path.join(tiltfile_dir, "Tiltfile")]
    if image.dockerfile:
        exact.append(image.dockerfile)
    return PathMatcher(sets, exact)
