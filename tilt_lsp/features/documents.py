"""Lifecycle and document sync: initialize, options, folders, open/change/save/close.

pygls keeps the text of open documents; this module turns the notifications into the
server's document events (``server.on_open`` ...), which the diagnostics feature and the
live-update adapter subscribe to.  It also reads options (initializationOptions and
workspace/didChangeConfiguration) and reports invalid values once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.workspace import TextDocument

from .. import settings as settings_mod
from ._lsp import path_of, safe

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

log = logging.getLogger(__name__)

WATCH_GLOBS = ("**/Tiltfile", "**/*.tiltfile", "**/Tiltfile.*", "**/*.star", "**/tilt_modules/**")


class FastTextDocument(TextDocument):
    """A TextDocument whose incremental edits cost O(edited lines), not O(document).

    pygls rebuilds the whole text line by line for every change; on a 5,000-line Tiltfile
    that is milliseconds per keystroke.  Here the document keeps its lines and the offsets at
    which they start (:meth:`line_index`) and updates them per edit, so the edit's offsets are
    found directly and the text is spliced once.  Lines end at ``\\n`` (``\\r\\n``
    included), as the model counts them.

    Each edit is also logged (:attr:`edit_log`: ``(edit number, first line, last line before
    the edit, number of lines that replaced them)``) so that per-document analyses can be
    updated for the lines that changed instead of redone (see ``DocView.symbols``).
    """

    EDIT_LOG_SIZE = 64

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index_src: str | None = None
        self._index_lines: list[str] = []
        self._index_starts: list[int] = []
        self.edits = 0
        self.edit_log: deque[tuple[int, int, int, int]] = deque(maxlen=self.EDIT_LOG_SIZE)

    def line_index(self) -> tuple[list[str], list[int]]:
        """The document's lines (without ``\\n``) and the offset at which each starts.

        The lists are replaced, never changed in place: callers may keep them.
        """
        src = self.source
        if self._index_src is not src:
            lines = src.split("\n")
            self._index_lines = lines
            self._index_starts = list(itertools.accumulate((len(ln) + 1 for ln in lines[:-1]), initial=0))
            if self._index_src is not None:  # replaced as a whole (full sync, reload): log it as such
                self._log(0, 1 << 40, len(lines))
            self._index_src = src
        return self._index_lines, self._index_starts

    def _log(self, first: int, last_old: int, new_count: int) -> None:
        self.edits += 1
        self.edit_log.append((self.edits, first, last_old, new_count))

    def _column(self, line_text: str, character: int) -> int:
        line_text = line_text[:-1] if line_text.endswith("\r") else line_text
        if line_text.isascii():
            return min(character, len(line_text))
        col = self.position_codec.position_from_client_units(
            [line_text], types.Position(line=0, character=character)
        ).character
        return min(col, len(line_text))

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        lines, starts = self.line_index()
        text = self._index_src or ""
        n = len(lines)
        s_line, e_line = change.range.start.line, change.range.end.line
        # Positions past the end clamp to the end of the document.
        if s_line >= n:
            s_line, s_col = n - 1, len(lines[-1])
        else:
            s_col = self._column(lines[s_line], change.range.start.character)
        if e_line >= n:
            e_line, e_col = n - 1, len(lines[-1])
        else:
            e_col = self._column(lines[e_line], change.range.end.character)
        start = starts[s_line] + s_col
        end = starts[e_line] + e_col
        if end < start:
            e_line, e_col, end = s_line, s_col, start
        new_src = text[:start] + change.text + text[end:]
        # The lines s_line..e_line become the lines of this segment.
        seg = lines[s_line][:s_col] + change.text + lines[e_line][e_col:]
        seg_lines = seg.split("\n")
        new_lines = lines[:s_line] + seg_lines + lines[e_line + 1 :]
        mid = [starts[s_line]]
        for ln in seg_lines[:-1]:
            mid.append(mid[-1] + len(ln) + 1)
        delta = len(new_src) - len(text)
        new_starts = starts[: s_line] + mid + [x + delta for x in starts[e_line + 1 :]]
        self._source = new_src
        self._index_src = new_src
        self._index_lines = new_lines
        self._index_starts = new_starts
        self._log(s_line, e_line, len(seg_lines))


def _use_fast_documents(server: TiltLanguageServer) -> None:
    ws = server.workspace
    sync_kind = ws._sync_kind  # noqa: SLF001 - pygls has no public hook for the document class
    codec = ws.position_codec

    def create(
        doc_uri: str, source: str | None = None, version: int | None = None, language_id: str | None = None
    ) -> TextDocument:
        return FastTextDocument(
            doc_uri, source=source, version=version, language_id=language_id, sync_kind=sync_kind, position_codec=codec
        )

    ws._create_text_document = create  # type: ignore[method-assign]  # noqa: SLF001


def _apply(server: TiltLanguageServer, raw: Any, *, from_configuration: bool) -> None:
    parsed, problems = settings_mod.parse(raw, from_configuration=from_configuration)
    for p in problems:
        server.report_once(f"tilt-lsp: invalid option {p}")
    server.apply_settings(parsed)


def _folder_paths(params: types.InitializeParams) -> list[str]:
    out: list[str] = []
    for f in params.workspace_folders or []:
        if (p := path_of(f.uri)) is not None:
            out.append(p)
    if not out:
        if params.root_uri and (p := path_of(params.root_uri)) is not None:
            out.append(p)
        elif params.root_path:
            out.append(params.root_path)
    return out


def register(server: TiltLanguageServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        server.loop = asyncio.get_running_loop()
        _use_fast_documents(server)
        server.tilt.set_folders(_folder_paths(params))
        _apply(server, params.initialization_options, from_configuration=False)

    @server.feature(types.INITIALIZED)
    @safe(lambda: None)
    async def initialized(params: types.InitializedParams) -> None:
        server.warm_up()
        caps = server.client_capabilities.workspace
        watched = caps.did_change_watched_files if caps else None
        if watched is None or not watched.dynamic_registration:
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=g) for g in WATCH_GLOBS]
        )
        try:
            await server.client_register_capability_async(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id="tilt-lsp-watch", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
                        )
                    ]
                )
            )
        except Exception as e:  # noqa: BLE001 - a client that cannot watch files is fine
            log.info("file watching not registered: %s", e)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @safe(lambda: None)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        has_tilt = False
        if isinstance(raw, dict):
            has_tilt = "tilt" in raw or "tilt" in (raw.get("settings") or {})
        elif raw is not None:
            has_tilt = hasattr(raw, "tilt") or hasattr(getattr(raw, "settings", None), "tilt")
        if not has_tilt:
            caps = server.client_capabilities.workspace
            if caps is not None and caps.configuration:
                result = await server.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section="tilt")])
                )
                raw = {"settings": {"tilt": result[0] if result else {}}}
        _apply(server, raw, from_configuration=True)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        for f in params.event.removed:
            if (p := path_of(f.uri)) is not None:
                server.tilt.remove_folder(p)
        for f in params.event.added:
            if (p := path_of(f.uri)) is not None:
                server.tilt.add_folder(p)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.fire(server.on_open, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        server.fire(server.on_change, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.fire(server.on_save, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.fire(server.on_close, params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(params: types.DidChangeWatchedFilesParams) -> None:
        paths = [p for c in params.changes if (p := path_of(c.uri)) is not None]
        server.tilt.bump_disk_generation()
        for cb in list(server.on_files_changed):
            try:
                cb(paths)
            except Exception:
                log.exception("files-changed listener failed")
