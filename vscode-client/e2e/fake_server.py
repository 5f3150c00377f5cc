"""A stand-in language server for the extension's end-to-end test (part "fake").

It speaks the editor contract of the real tilt-lsp (issue 4) with scripted behaviour, so the client's UI can be tested
in a real VS Code without Docker and before/independently of the real engine:

* completion offers ``docker_build`` (detail "fake server");
* saving a file named ``message.txt`` runs a scripted live update: ``tilt/liveUpdate`` queued → sync → run → done,
  with ``$/progress`` begin/report/end; the update fails instead when the file contains ``FAIL``;
* ``tilt.liveUpdate.syncNow|pause|resume|status`` commands;
* every initializationOptions / didChangeConfiguration payload and command call is appended as a JSON line to the
  file named by ``TILT_FAKE_RECORD``, for the test to assert on.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

IMAGE = "tilt-lsp-e2e/web"
CONTAINER = {"kind": "docker", "id": "f" * 64, "name": "fake-web-1", "pod": None, "namespace": None}
STEP_SECONDS = 1.0

server = LanguageServer("tilt-lsp-fake", "0.0.1")
paused: set[str] = set()


def record(kind: str, payload: Any) -> None:
    path = os.environ.get("TILT_FAKE_RECORD")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"kind": kind, "payload": payload}, default=_plain) + "\n")


def _plain(o: Any) -> Any:
    as_dict = getattr(o, "_asdict", None)
    if as_dict is not None:
        return as_dict()
    return str(o)


@server.feature(types.INITIALIZE)
def initialize(params: types.InitializeParams) -> None:
    experimental = params.capabilities.experimental
    record(
        "initialize",
        {"initializationOptions": params.initialization_options, "experimental": experimental, "argv": sys.argv[1:]},
    )


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
    record("didChangeConfiguration", params.settings)


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[]))
def completion(params: types.CompletionParams) -> types.CompletionList:
    items = [
        types.CompletionItem(label=name, kind=types.CompletionItemKind.Function, detail="fake server")
        for name in ("docker_build", "docker_compose", "docker_prune_settings")
    ]
    return types.CompletionList(is_incomplete=False, items=items)


def notify(update_id: str, phase: str, started: float, *, files: list[str], message: str = "",
           step: dict[str, Any] | None = None) -> None:
    server.protocol.notify(
        "tilt/liveUpdate",
        {
            "updateId": update_id,
            "image": IMAGE,
            "resource": "web",
            "phase": phase,
            "files": files,
            "containers": [CONTAINER],
            "step": step,
            "elapsedMs": round((time.monotonic() - started) * 1000, 1),
            "message": message,
        },
    )


async def live_update(path: str) -> None:
    if IMAGE in paused:
        return
    rel = os.path.relpath(path, os.getcwd())
    failing = "FAIL" in open(path, encoding="utf-8").read()
    update_id = uuid.uuid4().hex
    started = time.monotonic()
    token = str(uuid.uuid4())
    await server.work_done_progress.create_async(token)
    server.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=f"Live update {IMAGE}", message="queued"))
    notify(update_id, "queued", started, files=[rel], message=f"1 File Changed: [{rel}]")
    await asyncio.sleep(STEP_SECONDS / 2)
    server.work_done_progress.report(token, types.WorkDoneProgressReport(message=f"sync 1 file → {CONTAINER['name']}"))
    notify(update_id, "sync", started, files=[rel], message=f"Will copy 1 file(s) to container: {CONTAINER['name']}")
    await asyncio.sleep(STEP_SECONDS / 2)
    step = {"index": 1, "total": 1, "command": "cat /app/message.txt"}
    server.work_done_progress.report(token, types.WorkDoneProgressReport(message="run 1/1: cat /app/message.txt"))
    notify(update_id, "run", started, files=[rel], step=step, message="[CMD 1/1] sh -c cat /app/message.txt")
    await asyncio.sleep(STEP_SECONDS)
    if failing:
        msg = 'command "cat /app/message.txt" failed with exit code: 3'
        notify(update_id, "failed", started, files=[rel], step=step, message=msg)
        server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=msg))
    else:
        msg = f"→ Container {CONTAINER['name']} updated!"
        notify(update_id, "done", started, files=[rel], message=msg)
        server.work_done_progress.end(token, types.WorkDoneProgressEnd(message="updated"))


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(params: types.DidSaveTextDocumentParams) -> None:
    record("didSave", params.text_document.uri)
    path = params.text_document.uri.removeprefix("file://")
    if os.path.basename(path) == "message.txt":
        await live_update(path)


@server.command("tilt.liveUpdate.syncNow")
def sync_now(*args) -> None:
    record("command", {"command": "tilt.liveUpdate.syncNow", "arguments": list(args)})


@server.command("tilt.liveUpdate.pause")
def pause(*args) -> None:
    record("command", {"command": "tilt.liveUpdate.pause", "arguments": list(args)})
    paused.add(str(args[0]) if args else IMAGE)


@server.command("tilt.liveUpdate.resume")
def resume(*args) -> None:
    record("command", {"command": "tilt.liveUpdate.resume", "arguments": list(args)})
    paused.discard(str(args[0]) if args else IMAGE)


@server.command("tilt.liveUpdate.status")
def status(*args) -> list[dict[str, Any]]:
    return [{"image": IMAGE, "resource": "web", "paused": IMAGE in paused, "containers": [CONTAINER]}]


if __name__ == "__main__":
    server.start_io()
