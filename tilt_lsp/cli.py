"""The `tilt-lsp` command.

    tilt-lsp                      serve LSP on stdio (what editors run)
    tilt-lsp serve [--tcp H:P]    same, or on a TCP socket for debugging clients
    tilt-lsp check PATH...        diagnostics for Tiltfiles (text or JSON)
    tilt-lsp model [PATH]         what a Tiltfile declares (text or JSON)
    tilt-lsp watch [DIR]          the live-update engine without an editor
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def _build_parser() -> argparse.ArgumentParser:
    import argparse  # not needed to serve LSP: imported only for the other commands

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            self.print_usage(sys.stderr)
            print(f"{self.prog}: error: {message}", file=sys.stderr)
            raise SystemExit(2)

    p = _Parser(prog="tilt-lsp", description="Language server and live-update engine for Tilt's Tiltfile.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    serve = sub.add_parser("serve", help="serve LSP (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    serve.add_argument("--stdio", action="store_true", help="serve on stdio (the default)")

    check = sub.add_parser("check", help="report diagnostics for Tiltfiles")
    check.add_argument("paths", nargs="*", default=["."], help="Tiltfiles or folders holding one")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--time-budget", type=float, default=2.0, help="seconds allowed per Tiltfile (default 2)")

    model = sub.add_parser("model", help="print what a Tiltfile declares")
    model.add_argument("path", nargs="?", default=".", help="a Tiltfile or a folder holding one")
    model.add_argument("--format", choices=["text", "json"], default="text")

    watch = sub.add_parser("watch", help="live-update running containers when files change")
    watch.add_argument("path", nargs="?", default=".", help="project folder (holding the Tiltfile)")
    watch.add_argument("--debounce-ms", type=int, default=200)
    watch.add_argument("--docker-host", default=None)
    watch.add_argument("--once", action="store_true", help="sync everything once (initial sync) and exit")
    return p


def _rel(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("../..") else rel


def cmd_check(paths: Sequence[str], fmt: str, time_budget: float) -> int:
    import gc
    import json

    # One-shot: keep the evaluator's relaxed collector thresholds for the rest of the process
    # (restoring them would trigger a collection over everything evaluation allocated, just
    # before we exit).  Garbage cycles are still collected, less often.
    gc.set_threshold(max(gc.get_threshold()[0], 200_000), 20, 20)

    from .tiltfile.evaluate import evaluate, find_tiltfile
    from .tiltfile.model import Diagnostic, Severity

    all_diags: list[Diagnostic] = []
    for p in paths:
        tf = find_tiltfile(p)
        if not os.path.exists(tf):
            print(f"tilt-lsp check: no Tiltfile at {tf}", file=sys.stderr)
            return 2
        all_diags.extend(evaluate(tf, time_budget_s=time_budget).diagnostics)
    errors = sum(1 for d in all_diags if d.severity == Severity.ERROR)
    if fmt == "json":
        json.dump({"diagnostics": [d.to_json() for d in all_diags]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for d in all_diags:
            print(
                f"{_rel(d.path)}:{d.range.start.line + 1}:{d.range.start.character + 1}: "
                f"{d.severity.label} {d.code} {d.message}"
            )
        if not all_diags:
            print(f"no problems found in {len(paths)} Tiltfile{'s' if len(paths) != 1 else ''}", file=sys.stderr)
    return 1 if errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list:
        # What editors run: serve on stdio without paying for argparse.
        from . import codecache

        codecache.install()  # before pygls and lsprotocol generate their classes' methods
        from .server import run_server

        return int(run_server())
    parser = _build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        code = _dispatch(parser, args)
    except BrokenPipeError:
        # Output piped into `head` and friends: not an error.
        sys.stderr.close()
        return 0
    if argv is None and args.command in ("check", "model"):
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End the process without tearing the interpreter down.

    A one-shot command over a large Tiltfile leaves ~100k objects (syntax trees, the model)
    that a normal exit frees one by one, which takes about as long as the check itself.
    Only for commands run as a program (`argv is None`), never for in-process callers.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or the reader went away (BrokenPipeError)
            pass
    os._exit(code)


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "check":
        return cmd_check(args.paths, args.format, args.time_budget)
    if args.command == "model":
        from .modelview import cmd_model

        return int(cmd_model(args.path, args.format))
    if args.command == "serve":
        from . import codecache

        codecache.install()
        from .server import run_server

        return int(run_server(tcp=args.tcp))
    if args.command == "watch":
        from .watchcli import cmd_watch

        return int(cmd_watch(args.path, debounce_ms=args.debounce_ms, docker_host=args.docker_host, once=args.once))
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
