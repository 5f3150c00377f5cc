"""Live update through the real server over stdio, against a real Docker container.

didSave -> the exact ``tilt/liveUpdate`` sequence -> the file in the container; standard
``$/progress``; a failing ``run()`` -> a diagnostic on that step, cleared by the next success;
commands.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dockerutil as du
import pytest
from lsprotocol import types
from lsputil import wait_for
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.docker

TIMEOUT = 60.0
REPO = f"tilt-lsp-test/lsp-{uuid.uuid4().hex[:10]}"
TILTFILE = f"""\
docker_build('{REPO}', '.', live_update=[
    sync('./src', '/app/src'),
    run('grep -q yes /app/src/ok || {{ echo not ok yet; exit 4; }}'),
])
"""


@pytest.fixture
def container(docker_api: Any) -> Iterator[str]:
    du.build_image(
        f"FROM {du.BUSYBOX_IMAGE}\nRUN mkdir -p /app/src && echo yes > /app/src/ok\nLABEL u={uuid.uuid4().hex}\n",
        tag=f"{REPO}:latest",
    )
    cid = du.run_container(f"{REPO}:latest")
    yield cid
    du.remove_container(cid)


@pytest.fixture
def project(tmp_path: Path, container: str) -> Path:
    """Overrides the conftest project: a Tiltfile whose image has a running container."""
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "Tiltfile").write_text(TILTFILE)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "src" / "a.txt").write_text("v0")
    (root / "src" / "ok").write_text("yes")
    return root


def plain(value: Any) -> Any:
    """Custom notification params arrive as namedtuples; turn them back into JSON values."""
    as_dict = getattr(value, "_asdict", None)
    if as_dict is not None:
        return {k: plain(v) for k, v in as_dict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def collect(client: LanguageClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    @client.feature("tilt/liveUpdate")
    def on_live_update(params: Any) -> None:
        events.append(plain(params))

    return events


def save(client: LanguageClient, path: Path) -> None:
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
    )


def terminals(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["phase"] in ("done", "failed", "fallback", "skipped")]


def run_diagnostics(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri, []) if d.code == "TL410"]


def cat(cid: str, path: str) -> str:
    code, out = du.exec_output(cid, ["cat", path])
    assert code == 0, out
    return out.decode()


async def test_save_updates_the_container_with_notifications_and_progress(
    client: LanguageClient, project: Path, container: str
) -> None:
    events = collect(client)
    (project / "src" / "a.txt").write_text("v1 from the editor")
    save(client, project / "src" / "a.txt")
    await wait_for(lambda: len(terminals(events)) >= 1, TIMEOUT)

    update = [e for e in events if e["updateId"] == events[0]["updateId"]]
    assert [e["phase"] for e in update] == ["queued", "sync", "run", "done"]
    for e in update:
        assert set(e) == {
            "updateId",
            "image",
            "resource",
            "phase",
            "files",
            "containers",
            "step",
            "elapsedMs",
            "message",
        }
        assert e["image"] == REPO and e["resource"] is None
    sync, run, done = update[1], update[2], update[3]
    assert sync["files"] == ["src/a.txt"]
    name = du.api().inspect_container(container)["Name"].lstrip("/")
    assert sync["containers"] == [
        {"kind": "docker", "id": container, "name": name, "pod": None, "namespace": None}
    ]
    assert sync["message"] == f"sync 1 file \u2192 {name}" and sync["step"] is None
    assert run["step"] == {
        "index": 1,
        "total": 1,
        "command": "grep -q yes /app/src/ok || { echo not ok yet; exit 4; }",
    }
    assert run["message"].startswith("run 1/1: grep -q yes")
    assert done["message"].startswith("updated in ") and done["message"].endswith(" ms")
    assert cat(container, "/app/src/a.txt") == "v1 from the editor"

    # Standard progress for the same update.
    await wait_for(
        lambda: any(
            r and isinstance(r[-1], types.WorkDoneProgressEnd) for r in client.progress_reports.values()
        )
    )
    (reports,) = [
        r for r in client.progress_reports.values() if r and isinstance(r[0], types.WorkDoneProgressBegin)
    ]
    assert reports[0].title == f"Live update {REPO}"
    assert [r.message for r in reports[1:-1]] == [sync["message"], run["message"]]
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and reports[-1].message.startswith(
        "updated in "
    )
    assert any("Will copy 1 file(s)" in m.message for m in client.log_messages)


async def test_failing_run_publishes_a_diagnostic_cleared_by_the_next_success(
    client: LanguageClient, project: Path, container: str
) -> None:
    events = collect(client)
    tiltfile_uri = (project / "Tiltfile").as_uri()
    (project / "src" / "ok").write_text("no")
    save(client, project / "src" / "ok")
    await wait_for(lambda: len(terminals(events)) >= 1, TIMEOUT)
    (failed,) = terminals(events)
    assert failed["phase"] == "failed"
    assert "exit code: 4" in failed["message"] and "not ok yet" in failed["message"]
    assert cat(container, "/app/src/ok") == "no"  # the file stays

    await wait_for(lambda: bool(run_diagnostics(client, tiltfile_uri)), TIMEOUT)
    (diag,) = run_diagnostics(client, tiltfile_uri)
    assert diag.severity == types.DiagnosticSeverity.Error
    assert diag.range.start == types.Position(line=2, character=4)  # the run(...) step
    assert "exit code 4" in diag.message and "not ok yet" in diag.message

    # The pop-up is sent right after the diagnostic: wait for it rather than race it.
    def errors() -> list[Any]:
        return [m for m in client.messages if m.type == types.MessageType.Error and REPO in m.message]

    await wait_for(lambda: len(errors()) >= 1, TIMEOUT)
    assert len(errors()) == 1

    # The same failure again: still one message.
    (project / "src" / "ok").write_text("still no")
    save(client, project / "src" / "ok")
    await wait_for(lambda: len(terminals(events)) >= 2, TIMEOUT)
    assert terminals(events)[-1]["phase"] == "failed"
    assert len(errors()) == 1
    assert any("not ok yet" in m.message for m in client.log_messages if m.type == types.MessageType.Log)

    (project / "src" / "ok").write_text("yes")
    save(client, project / "src" / "ok")
    await wait_for(lambda: len(terminals(events)) >= 3, TIMEOUT)
    assert terminals(events)[-1]["phase"] == "done"
    await wait_for(lambda: not run_diagnostics(client, tiltfile_uri), TIMEOUT)


async def test_commands_status_pause_resume_sync_now(
    client: LanguageClient, project: Path, container: str
) -> None:
    events = collect(client)

    async def command(name: str, *args: Any) -> Any:
        return plain(
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=list(args))
            )
        )

    status: dict[str, Any] = {}
    for _ in range(600):  # the engine starts in the background: wait until it has seen the container
        status = await command("tilt.liveUpdate.status")
        if status["images"] and status["images"][0]["containers"]:
            break
        await asyncio.sleep(0.05)
    assert status["enabled"] is True and status["images"][0]["image"] == REPO
    assert status["images"][0]["containers"][0]["id"] == container

    assert (await command("tilt.liveUpdate.pause"))["paused"] is True
    (project / "src" / "a.txt").write_text("while paused")
    save(client, project / "src" / "a.txt")
    status = await command("tilt.liveUpdate.status")
    assert status["paused"] is True
    await command("tilt.liveUpdate.resume")
    await wait_for(lambda: len(terminals(events)) >= 1, TIMEOUT)
    assert cat(container, "/app/src/a.txt") == "while paused"

    (project / "src" / "b.txt").write_text("synced on demand")
    assert (await command("tilt.liveUpdate.syncNow", REPO))["images"] == [REPO]
    await wait_for(lambda: len(terminals(events)) >= 2, TIMEOUT)
    assert cat(container, "/app/src/b.txt") == "synced on demand"
    status = await command("tilt.liveUpdate.status")
    assert status["images"][0]["lastResult"]["phase"] == "done"


async def test_disabled_setting_turns_the_engine_off_and_on(
    client: LanguageClient, project: Path, container: str
) -> None:
    events = collect(client)

    async def command(name: str, *args: Any) -> Any:
        return plain(
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=list(args))
            )
        )

    def configure(enabled: bool) -> None:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"tilt": {"liveUpdate": {"enabled": enabled}}})
        )

    configure(False)  # what clients send for an untrusted workspace
    for _ in range(200):
        if (await command("tilt.liveUpdate.status"))["enabled"] is False:
            break
        await asyncio.sleep(0.05)
    status = await command("tilt.liveUpdate.status")
    assert status["enabled"] is False and status["images"] == []
    with pytest.raises(Exception, match="live update is off"):
        await command("tilt.liveUpdate.syncNow")
    (project / "src" / "a.txt").write_text("not synced")
    save(client, project / "src" / "a.txt")
    await asyncio.sleep(1.0)  # give a (wrongly) running engine the time to act
    assert events == []
    code, _ = du.exec_output(container, ["test", "-e", "/app/src/a.txt"])
    assert code != 0

    configure(True)
    for _ in range(600):
        status = await command("tilt.liveUpdate.status")
        if status["enabled"] and status["images"] and status["images"][0]["containers"]:
            break
        await asyncio.sleep(0.05)
    (project / "src" / "a.txt").write_text("synced again")
    save(client, project / "src" / "a.txt")
    await wait_for(lambda: len(terminals(events)) >= 1, TIMEOUT)
    assert terminals(events)[-1]["phase"] == "done"
    assert cat(container, "/app/src/a.txt") == "synced again"


async def test_manual_trigger_mode_holds_changes_until_sync_now(
    client: LanguageClient, project: Path, container: str
) -> None:
    events = collect(client)

    async def command(name: str, *args: Any) -> Any:
        return plain(
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=list(args))
            )
        )

    async def image_status() -> dict[str, Any]:
        for _ in range(600):
            status = await command("tilt.liveUpdate.status")
            if status["images"]:
                return dict(status["images"][0])
            await asyncio.sleep(0.05)
        raise AssertionError("no live-update image")

    await image_status()  # the engine has started
    tiltfile = project / "Tiltfile"
    tiltfile.write_text("trigger_mode(TRIGGER_MODE_MANUAL)\n" + TILTFILE)
    save(client, tiltfile)  # the engine reloads the Tiltfile
    for _ in range(600):
        if (await image_status())["triggerMode"] == "manual":
            break
        await asyncio.sleep(0.05)
    assert (await image_status())["triggerMode"] == "manual"

    (project / "src" / "a.txt").write_text("held")
    save(client, project / "src" / "a.txt")
    await wait_for(lambda: len(terminals(events)) >= 1, TIMEOUT)
    held = [e for e in events if e["updateId"] == terminals(events)[0]["updateId"]]
    assert [e["phase"] for e in held] == ["queued", "skipped"]
    assert held[-1]["message"].startswith("Only updates on manual trigger") and held[-1]["files"] == [
        "src/a.txt"
    ]
    status = await image_status()
    assert status["pendingFiles"] == ["src/a.txt"] and status["waitingForTrigger"] is True
    code, _ = du.exec_output(container, ["test", "-e", "/app/src/a.txt"])
    assert code != 0

    assert (await command("tilt.liveUpdate.syncNow", REPO))["images"] == [REPO]  # the trigger
    await wait_for(lambda: len(terminals(events)) >= 2, TIMEOUT)
    applied = [e for e in events if e["updateId"] == terminals(events)[1]["updateId"]]
    assert [e["phase"] for e in applied] == ["queued", "sync", "run", "done"]
    assert applied[-1]["files"] == ["src/a.txt"]
    assert cat(container, "/app/src/a.txt") == "held"
    assert (await image_status())["pendingFiles"] == []

    await command("tilt.liveUpdate.syncNow")  # nothing held: a full rebuild would be needed
    await wait_for(lambda: len(terminals(events)) >= 3, TIMEOUT)
    assert terminals(events)[2]["phase"] == "fallback", "\n".join(
        str((e["updateId"][:6], e["phase"], e["files"], e["message"][:70])) for e in events
    )
    assert "full rebuild" in terminals(events)[2]["message"]
