"""load(), load_dynamic(), include() and extensions: the load graph in the model."""

from __future__ import annotations

from pathlib import Path

from .helpers import codes, errors, fmt, only, prints, run, start


def test_relative_and_nested_loads(tmp_path: Path) -> None:
    files = {
        "lib/a.star": "load('./b.star', 'b')\nload('../top.star', 't')\na = 'a' + b + t\n",
        "lib/b.star": "b = 'b'\n",
        "top.star": "t = 't'\n",
    }
    m = run(tmp_path, "load('./lib/a.star', 'a', other='a')\nprint(a, other)\n", files)
    assert not m.diagnostics, fmt(m)
    assert prints(m) == ["abt abt"]
    assert list(m.files) == [str(tmp_path / p) for p in ("Tiltfile", "lib/a.star", "lib/b.star", "top.star")]
    assert m.loads == tuple(str(tmp_path / p) for p in ("lib/a.star", "lib/b.star", "top.star"))


def test_load_edges_and_symbols(tmp_path: Path) -> None:
    files = {"c.star": "print('c runs')\nx = 1\n", "d.star": "load('./c.star', 'x')\ny = x + 1\n"}
    src = "load('./c.star', 'x')\nload('./d.star', 'y')\nload('./c.star', z='x')\nd = load_dynamic('./c.star')\ninclude('./c.star')\n"
    m = run(tmp_path, src + "print(x, y, z, d['x'])\n", files)
    assert not m.diagnostics, fmt(m)
    assert prints(m) == ["c runs", "1 2 1 1"]  # each file is executed once
    root = m.files[str(tmp_path / "Tiltfile")]
    got = [(e.module, e.kind, e.symbols, e.path) for e in root.loads]
    c, d = str(tmp_path / "c.star"), str(tmp_path / "d.star")
    assert got == [
        ("./c.star", "load", (("x", "x"),), c),
        ("./d.star", "load", (("y", "y"),), d),
        ("./c.star", "load", (("z", "x"),), c),
        ("./c.star", "load_dynamic", (), c),
        ("./c.star", "include", (), c),
    ]
    # The edge points at the module string of the load statement.
    assert (root.loads[0].location.range.start.line, root.loads[0].location.range.start.character) == (0, 5)
    assert root.loads[3].location.range.start.line == 3
    assert [(e.module, e.symbols) for e in m.files[d].loads] == [("./c.star", (("x", "x"),))]
    defs = {df.name: df.kind for df in root.definitions}
    assert defs["x"] == "load" and defs["z"] == "load" and defs["d"] == "variable"


def test_cycle_detection(tmp_path: Path) -> None:
    files = {"a.star": "load('./b.star', 'b')\na = 'a'\n", "b.star": "load('./a.star', 'a')\nb = 'b'\n"}
    m = run(tmp_path, "load('./a.star', 'a')\nprint(a)\n", files)
    inner = only(m, "TL304")
    assert inner.message == "Circular load: Tiltfile -> a.star -> b.star -> a.star"
    assert Path(inner.path).name == "b.star" and start(inner) == (0, 5)
    outer = only(m, "TL308")
    assert Path(outer.path).name == "Tiltfile" and start(outer) == (0, 5)
    assert prints(m) == ["a"]


def test_self_load_is_a_cycle(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./Tiltfile', 'x')\nx = 1\n")
    assert only(m, "TL304").message == "Circular load: Tiltfile -> Tiltfile"


def test_private_and_missing_names(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./l.star', 'pub', '_priv', 'nope')\nprint(pub)\nprint(_priv, nope)\n", {"l.star": "pub = 1\n_priv = 2\n"})
    got = sorted((d.message, start(d)) for d in m.diagnostics)
    assert got == [
        ("load: name nope not found in module ./l.star", (0, 33)),
        ("load: names with leading underscores are not exported: _priv", (0, 24)),
    ]
    assert prints(m) == ["1"]  # the names that failed do not cascade into more errors


def test_load_of_missing_file(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./nope.star', 'a', b='c')\nprint(a, b)\nx = 1 // 0\n")
    d = only(m, "TL304")
    assert d.message == f"cannot load ./nope.star: file not found ({tmp_path}/nope.star)"
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (0, 5, 18)
    assert codes(m) == ["TL304", "TL302"]  # no TL201 for a and b, and later statements still run


def test_load_of_directory_means_its_tiltfile(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./svc', 'v')\nprint(v)\n", {"svc/Tiltfile": "v = 'from svc'\n"})
    assert prints(m) == ["from svc"], fmt(m)


def test_load_must_be_top_level(tmp_path: Path) -> None:
    src = "def f():\n    load('./l.star', 'a')\n    return a\nif True:\n    load('./l.star', 'b')\nprint(b)\n"
    m = run(tmp_path, src, {"l.star": "a = 1\nb = 2\n"})
    tl106 = [d for d in m.diagnostics if d.code == "TL106"]
    assert [start(d) for d in tl106] == [(1, 4), (4, 4)]
    assert tl106[0].message == "load statement within a function: load() is only allowed at the top level"
    assert tl106[1].message == "load statement within a loop or conditional: load() is only allowed at the top level"
    assert codes(m) == ["TL106", "TL106"], fmt(m)  # a nested load runs nothing and binds nothing concrete
    assert str(tmp_path / "l.star") not in m.files


def test_ext_resolved_from_tilt_modules(tmp_path: Path) -> None:
    files = {
        "tilt_modules/restart_process/Tiltfile": (
            "def docker_build_with_restart(ref, context, entrypoint, **kwargs):\n"
            "    docker_build(ref, context, **kwargs)\n"
        ),
        "Dockerfile": "FROM x\n",
    }
    src = "load('ext://restart_process', 'docker_build_with_restart')\ndocker_build_with_restart('img', '.', entrypoint=['/app'])\n"
    m = run(tmp_path, src, files)
    assert not m.diagnostics, fmt(m)
    assert [i.ref for i in m.images] == ["img"]
    (edge,) = m.files[str(tmp_path / "Tiltfile")].loads
    assert edge.module == "ext://restart_process"
    assert edge.path == str(tmp_path / "tilt_modules" / "restart_process" / "Tiltfile")


def test_unresolvable_extension_is_a_warning_without_cascade(tmp_path: Path) -> None:
    src = (
        "load('ext://git_resource', 'git_checkout', co='git_checkout')\n"
        "git_checkout('https://example.com/x.git')\n"
        "r = co('y')\n"
        "print(r.path)\n"
        "print(undefined_one)\n"
    )
    m = run(tmp_path, src)
    d = only(m, "TL306")
    assert start(d) == (0, 5)
    assert d.message.startswith("extension 'git_resource' is not installed locally")
    assert [x.message for x in m.diagnostics if x.code == "TL201"] == ["undefined: undefined_one"]
    (edge,) = m.files[str(tmp_path / "Tiltfile")].loads
    assert edge.path is None and edge.module == "ext://git_resource"


def test_load_dynamic_returns_exports(tmp_path: Path) -> None:
    src = "d = load_dynamic('./c.star')\nprint(sorted(d.keys()), d['x'], type(d))\nd['x'] = 2\n"
    m = run(tmp_path, src, {"c.star": "x = 1\n_p = 2\ndef f():\n    pass\n"})
    assert prints(m) == ['["f", "x"] 1 dict']
    (d,) = errors(m)
    assert d.message == "cannot insert into frozen hash table" and d.range.start.line == 2


def test_include_runs_for_side_effects(tmp_path: Path) -> None:
    files = {"inc/Tiltfile": "k8s_yaml('k.yaml')\nprint(os.getcwd())\nx = 1\n", "inc/k.yaml": "kind: ConfigMap\nmetadata:\n  name: cm\n"}
    m = run(tmp_path, "r = include('./inc/Tiltfile')\nprint(r)\n", files)
    assert not m.diagnostics, fmt(m)
    assert prints(m) == [str(tmp_path / "inc"), "None"]
    assert [o.name for o in m.k8s_objects] == ["cm"]


def test_loaded_globals_are_frozen(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./l.star', 'cfg')\ncfg['k'] = 2\nprint(cfg)\n", {"l.star": "cfg = {'k': 1}\n"})
    (d,) = errors(m)
    assert d.message == "cannot insert into frozen hash table"
    assert prints(m) == ['{"k": 1}']


def test_dunder_name_and_file_per_file(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./sub/Tiltfile', 'info')\nprint(__name__, info)\n", {"sub/Tiltfile": "info = (__name__, __file__)\n"})
    assert prints(m) == [f'__main__ ("Tiltfile", "{tmp_path}/sub/Tiltfile")']


def test_error_in_loaded_file_keeps_its_good_exports(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./l.star', 'good', 'bad')\nprint(good)\n", {"l.star": "good = 1\nbad = {}['x']\n"})
    assert codes(m) == ["TL308", "TL302"]
    assert prints(m) == ["1"]
