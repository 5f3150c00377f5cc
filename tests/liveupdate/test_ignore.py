"""Ignore matcher: dockerignore semantics and the per-image sources (spec rule 7, cases 7-8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tilt_lsp.liveupdate.ignore import (
    NULL_MATCHER,
    PathMatcher,
    PatternSet,
    build_matcher,
    parse_ignore_file,
)
from tilt_lsp.tiltfile.model import Image


@pytest.mark.parametrize(
    ("patterns", "rel", "excluded"),
    [
        (["*.go"], "a.go", True),
        (["*.go"], "dir/a.go", False),  # '*' never crosses '/'
        (["**/*.go"], "dir/sub/a.go", True),
        (["**/*.go"], "a.go", True),  # '**/' matches zero directories
        (["a/**/b"], "a/b", True),
        (["a/**/b"], "a/x/y/b", True),
        (["a/**"], "a/x/y", True),
        (["**"], "anything/at/all", True),
        (["foo"], "foo/bar/baz", True),  # excluding a directory excludes its children
        (["foo", "!foo/keep"], "foo/keep/x", False),  # unless re-included
        (["foo", "!foo/keep"], "foo/other", True),
        (["!foo/keep", "foo"], "foo/keep/x", True),  # last match wins
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README.md", "*.md"], "README.md", True),
        (["/foo/"], "foo/x", True),  # leading and trailing slashes cleaned
        (["./foo//bar/"], "foo/bar", True),
        (["x/../foo"], "foo", True),
        (["?.txt"], "a.txt", True),
        (["?.txt"], "ab.txt", False),
        (["[ab].txt"], "b.txt", True),
        (["[ab].txt"], "c.txt", False),
        (["[a-c].txt"], "b.txt", True),
        (["[!ab].txt"], "c.txt", True),
        (["[^ab].txt"], "a.txt", False),
        (["a[!x]b"], "a/b", False),  # a negated class never matches '/'
        (["\\*.txt"], "*.txt", True),
        (["\\*.txt"], "a.txt", False),
        (["a["], "a[", True),  # unterminated class: literal
        (["[z-a]"], "q", False),  # invalid range: literal, never a crash
        (["  spaced.txt  "], "spaced.txt", True),
        (["", "   ", "!"], "x", False),
        (["."], "x", False),
        (["#not-a-comment"], "#not-a-comment", True),  # only files have comments
    ],
)
def test_pattern_semantics(patterns: list[str], rel: str, excluded: bool) -> None:
    assert PatternSet("/ctx", patterns).excluded(rel) is excluded


def test_parse_ignore_file_skips_comments_blank_and_bom() -> None:
    text = "\ufeff# comment\n\nnode_modules\n  \n!keep\n#also comment\n"
    assert parse_ignore_file(text) == ["node_modules", "!keep"]


def test_relative_outside_base() -> None:
    s = PatternSet("/ctx", ["*"])
    assert s.relative("/ctx") is None
    assert s.relative("/ctxother/a") is None
    assert s.relative("/ctx/a/b") == "a/b"


def _image(tmp_path: Path, **kw: object) -> Image:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    args: dict[str, object] = {"ref": "app", "kind": "docker_build", "context": str(ctx)}
    args.update(kw)
    return Image(**args)  # type: ignore[arg-type]


def test_context_dockerignore(tmp_path: Path) -> None:
    img = _image(tmp_path)
    ctx = img.context
    Path(ctx, ".dockerignore").write_text("# build output\nbuild\n*.log\n!important.log\n")
    m = build_matcher(img, str(tmp_path), ())
    assert m.ignored(f"{ctx}/build/out.bin")
    assert m.ignored(f"{ctx}/x.log")
    assert not m.ignored(f"{ctx}/important.log")
    assert not m.ignored(f"{ctx}/src/main.py")
    assert not m.ignored(f"{ctx}/sub/x.log")  # '*.log' is anchored at the context
    assert not m.ignored(f"{tmp_path}/elsewhere/build/x")  # outside the context


def test_dockerfile_specific_dockerignore_wins(tmp_path: Path) -> None:
    df = tmp_path / "docker" / "Dockerfile.dev"
    df.parent.mkdir()
    df.write_text("FROM scratch\n")
    img = _image(tmp_path, dockerfile=str(df))
    Path(img.context, ".dockerignore").write_text("a.txt\n")
    Path(str(df) + ".dockerignore").write_text("b.txt\n")
    m = build_matcher(img, str(tmp_path), ())
    assert m.ignored(f"{img.context}/b.txt")
    assert not m.ignored(f"{img.context}/a.txt")  # the context file is not read at all
    assert m.ignored(str(df))  # the image's Dockerfile is ignored


def test_context_dockerignore_used_without_specific_one(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("FROM scratch\n")
    img = _image(tmp_path, dockerfile=str(df))
    Path(img.context, ".dockerignore").write_text("a.txt\n")
    assert build_matcher(img, str(tmp_path), ()).ignored(f"{img.context}/a.txt")


def test_ignore_only_tiltignore_and_watch_settings(tmp_path: Path) -> None:
    img = _image(tmp_path, ignore=("tmp/", "src/*.pyc"), only=("src", "conf/app.yaml", "lit[1].txt"))
    (tmp_path / ".tiltignore").write_text("ctx/src/generated\n")
    m = build_matcher(img, str(tmp_path), ["ctx/src/**/*.snap", f"{tmp_path}/ctx/src/abs-ignored"])
    ctx = img.context
    # ignore=
    assert m.ignored(f"{ctx}/tmp/x")
    assert m.ignored(f"{ctx}/src/a.pyc")
    # only=: everything except the listed paths and their descendants
    assert not m.ignored(f"{ctx}/src/app/main.py")
    assert not m.ignored(f"{ctx}/conf/app.yaml")
    assert m.ignored(f"{ctx}/conf/other.yaml")
    assert m.ignored(f"{ctx}/README.md")
    assert not m.ignored(f"{ctx}/lit[1].txt")  # only= entries are paths, not globs
    assert m.ignored(f"{ctx}/lit1.txt")
    # .tiltignore and watch_settings(ignore=) are relative to the Tiltfile directory
    assert m.ignored(f"{ctx}/src/generated/x.py")
    assert m.ignored(f"{ctx}/src/deep/a.snap")
    assert m.ignored(f"{ctx}/src/abs-ignored")
    assert not m.ignored(f"{ctx}/src/deep/a.py")


def test_only_dot_keeps_everything(tmp_path: Path) -> None:
    img = _image(tmp_path, only=(".",))
    assert not build_matcher(img, str(tmp_path), ()).ignored(f"{img.context}/any/file")


@pytest.mark.parametrize(
    "rel",
    [
        ".git",
        ".git/HEAD",
        "sub/.git/objects/ab/cdef",
        ".main.py.swp",
        ".main.py.swx",
        "dir/.x.swo",
        ".x.swn",
        "4913",
        "dir/4913",
        "main.py~",
        ".#main.py",
        "#main.py#",
        "main.py___jb_tmp___",
        "main.py___jb_old___",
        ".idea/workspace.xml",
        "sub/.idea/misc.xml",
        ".main.py.kate-swp",
    ],
)
def test_builtin_ignores(tmp_path: Path, rel: str) -> None:
    img = _image(tmp_path)
    m = build_matcher(img, str(tmp_path), ())
    assert m.ignored(os.path.join(img.context, rel))
    assert m.why(os.path.join(img.context, rel)) is not None


@pytest.mark.parametrize(
    "rel", ["main.swp", "x.gitignore", ".gitignore", "git/x", "49130", "a#b", "app.tmp.123"]
)
def test_lookalikes_are_not_ignored(tmp_path: Path, rel: str) -> None:
    img = _image(tmp_path)
    assert not build_matcher(img, str(tmp_path), ()).ignored(os.path.join(img.context, rel))


def test_tiltfile_ignored_and_overridable(tmp_path: Path) -> None:
    img = _image(tmp_path)
    m = build_matcher(img, str(tmp_path), ())
    assert m.ignored(str(tmp_path / "Tiltfile"))
    m2 = build_matcher(img, str(tmp_path), (), tiltfiles=[str(tmp_path / "dev.tilt")])
    assert m2.ignored(str(tmp_path / "dev.tilt"))
    assert not m2.ignored(str(tmp_path / "Tiltfile"))


def test_custom_build_ignore_is_relative_to_each_dep(tmp_path: Path) -> None:
    img = Image(
        ref="app",
        kind="custom_build",
        context=str(tmp_path),
        deps=(str(tmp_path / "a"), str(tmp_path / "b")),
        ignore=("*.o",),
    )
    files: dict[str, str] = {str(tmp_path / "a" / ".dockerignore"): "x\n"}
    m = build_matcher(img, str(tmp_path), (), read_file=files.get)
    assert m.ignored(str(tmp_path / "a" / "main.o"))
    assert m.ignored(str(tmp_path / "b" / "main.o"))
    assert not m.ignored(str(tmp_path / "a" / "x"))  # no .dockerignore for custom_build
    assert not m.ignored(str(tmp_path / "main.o"))


def test_injected_reader_and_non_normalised_paths(tmp_path: Path) -> None:
    img = Image(ref="app", kind="docker_build", context="/proj/ctx")
    files = {"/proj/ctx/.dockerignore": "secret\n"}
    m = build_matcher(img, "/proj", (), read_file=files.get)
    assert m.ignored("/proj/ctx/./sub/../secret/key")
    assert not m.ignored("/proj/ctx/secret/../public")


def test_prunable(tmp_path: Path) -> None:
    sets = [
        PatternSet("/ctx", ["node_modules", "build"]),
        PatternSet("/ctx", ["vendor", "!vendor/keep"]),
    ]
    m = PathMatcher(sets)
    assert m.prunable("/ctx/.git")
    assert m.prunable("/ctx/node_modules")
    assert m.prunable("/ctx/node_modules/left-pad")
    assert not m.prunable("/ctx/src")
    assert m.ignored("/ctx/vendor/x")
    assert not m.prunable("/ctx/vendor")  # an exception re-includes something below
    assert not m.ignored("/ctx/vendor/keep/y")
    other = PathMatcher([PatternSet("/ctx", ["vendor", "!other/keep"])])
    assert other.prunable("/ctx/vendor")  # the exception cannot apply below vendor
    wild = PathMatcher([PatternSet("/ctx", ["vendor", "!**/keep"])])
    assert not wild.prunable("/ctx/vendor")


def test_why_names_the_source(tmp_path: Path) -> None:
    img = _image(tmp_path, ignore=("*.tmp",))
    m = build_matcher(img, str(tmp_path), ["logs"])
    assert m.why(f"{img.context}/a.tmp") == "ignore="
    assert m.why(f"{tmp_path}/logs/x") == "watch_settings(ignore=)"
    assert m.why(f"{img.context}/a.py") is None


def test_null_matcher() -> None:
    assert not NULL_MATCHER.ignored("/x/.git")
    assert not NULL_MATCHER.prunable("/x")
