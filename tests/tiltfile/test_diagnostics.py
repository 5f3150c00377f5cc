"""Every diagnostic code: one case that produces it (code, severity, range, message) and one that must not."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tilt_lsp.tiltfile.checks import RESTART_K8S_MESSAGE
from tilt_lsp.tiltfile.codes import CODES, RUNTIME_CODES
from tilt_lsp.tiltfile.model import Location, Severity

from .helpers import codes, errors, fmt, only, run, start

DOCKERFILE = "FROM busybox\n"
DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        image: img
"""
PROJECT = {"Dockerfile": DOCKERFILE, "k8s.yaml": DEPLOY, "src/app.py": "print('hi')\n"}
COMPOSE = """\
services:
  web:
    image: img
    build: .
  db:
    image: postgres
"""


@dataclass
class Case:
    code: str
    bad: str  # a Tiltfile that produces `code`
    at: tuple[int, int] | None  # 0-based (line, character) where the diagnostic starts
    message: str  # a fragment of its message
    good: str  # a close variant that must not produce `code`
    files: dict[str, str | bytes] = field(default_factory=dict)


K8S_IMG = "k8s_yaml('k8s.yaml')\n"

CASES: list[Case] = [
    Case("TL101", "x = 1\ny = (\nz = 2\n", (1, 4), "syntax error: '(' was never closed", "x = 1\ny = (\n  2)\nz = 2\n"),
    Case("TL101", "x = 'a\\d'\n", (0, 6), "syntax error: invalid escape sequence \\d", "x = r'a\\d' + 'a\\\\d\\n\\t\\x41\\u00e9'\n"),
    Case("TL101", "cmd = ('docker build '\n       '--tag x')\n", (1, 7), "adjacent string literals are not joined in Starlark",
         "cmd = ('docker build ' +\n       '--tag x')\n"),
    Case("TL101", "n = 1_000\n", (0, 4), "Starlark does not allow _ in number literals", "n = 1000\n"),
    Case("TL101", "a = b = 1\n", (0, 0), "Starlark has no chained assignment", "a = 1\nb = a\n"),
    Case("TL101", "x = 1\nreturn x\n", (1, 0), "return statement not within a function", "def f(x):\n    return x\n"),
    Case("TL101", "if True:\n    break\n", (1, 4), "break not in a loop", "for i in range(3):\n    if i:\n        break\n"),
    Case("TL101", "def f(a, a):\n    pass\n", (0, 9), "duplicate parameter: a", "def f(a, b):\n    pass\n"),
    Case("TL101", "def f(*a, **k):\n    return a\nf(*[1], b=2)\n", (2, 8), "keyword argument may not follow *args",
         "def f(*a, **k):\n    return a\nf(b=2, *[1])\n"),
    Case("TL101", "def f(*a, **k):\n    return a\nf(**{}, b=2)\n", (2, 8), "keyword argument may not follow **kwargs",
         "def f(*a, **k):\n    return a\nf(b=2, **{})\n"),
    Case("TL102", "x = 1\nimport os\n", (1, 0), "Starlark does not support import statements", "x = 1\n"),
    Case("TL102", "class A:\n    pass\n", (0, 0), "class definitions", "A = struct()\n"),
    Case("TL102", "try:\n    x = 1\nexcept:\n    pass\n", (0, 0), "try/except", "x = 1\n"),
    Case("TL102", "def f():\n    global g\n", (1, 4), "the global statement", "def f():\n    pass\n"),
    Case("TL102", "with x as y:\n    pass\n", (0, 0), "with statements", "y = 1\n"),
    Case("TL103", "name = 'a'\nx = f'hi {name}'\n", (1, 4), "f-strings are not Starlark", "name = 'a'\nx = 'hi %s' % name\n"),
    Case("TL104", "x = None\nif x is None:\n    pass\n", (1, 3), "no `is` operator", "x = None\nif x == None:\n    pass\n"),
    Case("TL105", "x = {1, 2}\n", (0, 4), "set literals", "x = set([1, 2])\n"),
    Case("TL105", "x = 2 ** 8\n", (0, 4), "no ** operator", "x = 2 * 8\n"),
    Case("TL105", "x = [i for i in range(3)]\ny = (i for i in x)\n", (1, 4), "generator expressions", "x = [i for i in range(3)]\n"),
    Case("TL105", "def f():\n    yield 1\n", (1, 4), "yield", "def f():\n    return 1\n"),
    Case("TL105", "d = {'a': 1}\ne = {**d, 'b': 2}\n", (1, 4), "** inside a dict literal", "d = {'a': 1}\ne = dict(d, b=2)\n"),
    Case("TL105", "def f(*a):\n    return a\nf(*[1], *[2])\n", (2, 0), "more than one *args",
         "def f(*a):\n    return a\nf(*([1] + [2]))\n"),
    Case("TL106", "def f():\n    load('./lib.star', 'v')\n", (1, 4), "load statement within a function",
         "load('./lib.star', 'v')\n", {"lib.star": "v = 1\n"}),
    Case("TL106", "if True:\n    load('./lib.star', 'v')\n", (1, 4), "load statement within a loop or conditional",
         "load('./lib.star', 'v')\n", {"lib.star": "v = 1\n"}),
    Case("TL106", "p = './lib.star'\nload(p, 'v')\n", (1, 0), "string literal", "load('./lib.star', 'v')\n", {"lib.star": "v = 1\n"}),
    Case("TL107", "load('./lib.star', 'v')\n", (0, 5), "lib.star: file is not valid UTF-8 (byte 0xe9 at offset 8)",
         "load('./ok.star', 'v')\n", {"lib.star": "v = 'caf\u00e9'\n".encode("latin-1"), "ok.star": "v = 'caf\u00e9'\n"}),
    Case("TL107", "load('./lib.star', 'v')\n", (0, 5), "lib.star: file looks binary",
         "load('./ok.star', 'v')\n", {"lib.star": b"\x00\x01\x02", "ok.star": "v = 1\n"}),
    Case("TL108", "load('./big.star', 'v')\n", (0, 5), "big.star: file is too large to analyze",
         "load('./ok.star', 'v')\n", {"big.star": b"v = 1\n" + b"#" * (8 * 1024 * 1024) + b"\n", "ok.star": "v = 1\n"}),
    Case("TL201", "docker_biuld('img', '.')\n", (0, 0), "undefined: docker_biuld (did you mean docker_build?)",
         "docker_build('img', '.')\n", {"Dockerfile": DOCKERFILE}),
    Case("TL201", "def f():\n    return nope\n", (1, 11), "undefined: nope", "nope = 1\ndef f():\n    return nope\n"),
    Case("TL201", "def f():\n    return os.path.jion('a', 'b')\n", (1, 19), 'module "os.path" has no .jion field or method (did you mean .join?)',
         "def f():\n    return os.path.join('a', 'b')\n"),
    Case("TL302", "x = 'a'.uper()\n", (0, 4), "string has no .uper field or method (did you mean .upper?)", "x = 'a'.upper()\n"),
    Case("TL202", "x = read_file(file_path='a.txt')\n", (0, 14), "read_file: unexpected keyword argument file_path (did you mean paths?)",
         "x = read_file(paths='a.txt')\n", {"a.txt": "a"}),
    Case("TL202", "x = listdir(directory='.')\n", (0, 12), "listdir: unexpected keyword argument directory (did you mean dir?)",
         "x = listdir(dir='.')\n"),
    Case("TL202", "rf = read_file\nx = rf(file_path='a.txt')\n", (1, 7), "read_file: unexpected keyword argument file_path (did you mean paths?)",
         "rf = read_file\nx = rf(paths='a.txt')\n", {"a.txt": "a"}),
    Case("TL202", "def f(a):\n    return a\nf(b=1)\n", (2, 2), 'function f got an unexpected keyword argument "b"',
         "def f(a):\n    return a\nf(a=1)\n"),
    Case("TL203", "docker_build('img')\n", (0, 0), "docker_build: missing argument for context",
         "docker_build('img', '.')\n", {"Dockerfile": DOCKERFILE}),
    Case("TL203", "def f(a, b):\n    return a\nf(1)\n", (2, 0), "function f missing 1 argument (b)", "def f(a, b):\n    return a\nf(1, 2)\n"),
    Case("TL204", "k8s_kind('Foo', 'bar')\n", (0, 16), "k8s_kind: got 2 arguments, want at most 1", "k8s_kind('Foo', image_json_path='bar')\n"),
    Case("TL204", "def f():\n    pass\nf(1)\n", (2, 0), "function f accepts no arguments (1 given)", "def f():\n    pass\nf()\n"),
    Case("TL205", "docker_build('img', '.', ref='other')\n", (0, 25), "docker_build: got multiple values for parameter ref",
         "docker_build('img', '.')\n", {"Dockerfile": DOCKERFILE}),
    Case("TL301", "x = 1\nfail('stop here')\n", (1, 0), "stop here", "x = 1\nif x == 2:\n    fail('stop here')\n"),
    Case("TL302", "x = {}\ny = x['k']\n", (1, 4), 'key "k" not in dict', "x = {'k': 1}\ny = x['k']\n"),
    Case("TL302", "x = 'a' + 1\n", (0, 4), "unknown binary op: string + int", "x = 'a' + str(1)\n"),
    Case("TL302", "y = x\nx = 1\n", (0, 4), "global variable x referenced before assignment", "x = 1\ny = x\n"),
    Case("TL303", "n = 0\nwhile True:\n    n += 1\n", None, "is there an endless loop?", "n = 0\nwhile n < 1000:\n    n += 1\n"),
    Case("TL304", "load('./missing.star', 'x')\n", (0, 5), "cannot load ./missing.star: file not found",
         "load('./lib.star', 'x')\n", {"lib.star": "x = 1\n"}),
    Case("TL304", "load('./lib.star', 'y')\n", (0, 19), "load: name y not found in module ./lib.star",
         "load('./lib.star', 'x')\n", {"lib.star": "x = 1\n"}),
    Case("TL304", "load('./lib.star', '_x')\n", (0, 19), "load: names with leading underscores are not exported: _x",
         "load('./lib.star', 'x')\n", {"lib.star": "_x = 1\nx = _x\n"}),
    Case("TL305", "def f(n):\n    return f(n + 1)\nf(0)\n", (1, 11), "call stack exceeds",
         "def f(n):\n    return 0 if n == 0 else f(n - 1)\nf(50)\n"),
    Case("TL306", "load('ext://nothere', 'thing')\nthing('x')\n", (0, 5), "extension 'nothere' is not installed locally",
         "load('ext://here', 'thing')\nthing('x')\n", {"tilt_modules/here/Tiltfile": "def thing(x):\n    return x\n"}),
    Case("TL307", "warn('careful')\n", (0, 0), "careful", "print('careful')\n"),
    Case("TL308", "load('./lib.star', 'f')\nf()\n", (1, 0), "error in lib.star:2: floored division by zero",
         "load('./lib.star', 'f')\n", {"lib.star": "def f():\n    return 1 // 0\n"}),
    # ---- live update
    Case("TL401", K8S_IMG + "docker_build('img', '.', live_update=[run('make'), sync('src', '/app')])\n", (1, 51),
         "live_update: all sync steps must precede all run steps",
         K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app'), run('make')])\n", PROJECT),
    Case("TL402", K8S_IMG + "docker_build('img', '.', live_update=[sync('src', 'app')])\n", (1, 38),
         'live_update: spec.syncs[0]: Invalid value: "app": sync destination is not absolute',
         K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app')])\n", PROJECT),
    Case("TL403", K8S_IMG + "s = sync('src', '/app')\ndocker_build('img', '.')\n", (1, 4),
         "value 'sync step: '", K8S_IMG + "s = sync('src', '/app')\ndocker_build('img', '.', live_update=[s])\n", PROJECT),
    Case("TL404", K8S_IMG + "docker_build('img', 'src', live_update=[sync('k8s.yaml', '/k8s.yaml')])\n", (1, 40),
         "is not a child of any watched filepaths",
         K8S_IMG + "docker_build('img', 'src', live_update=[sync('src/app.py', '/app.py')])\n",
         {**PROJECT, "src/Dockerfile": DOCKERFILE}),
    Case("TL405", K8S_IMG + "docker_build('img', 'src', live_update=[fall_back_on('k8s.yaml'), sync('src', '/app')])\n", (1, 39),
         "fall_back_on paths '", K8S_IMG + "docker_build('img', 'src', live_update=[fall_back_on('src/app.py'), sync('src', '/app')])\n",
         {**PROJECT, "src/Dockerfile": DOCKERFILE}),
    Case("TL406", K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app'), run('make', trigger=['Makefile'])])\n",
         (1, 59), "run() trigger 'Makefile' is not under any sync() path",
         K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app'), run('make', trigger=['src/app.py'])])\n", PROJECT),
    Case("TL407", K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app'), restart_container()])\n", (1, 37),
         RESTART_K8S_MESSAGE.format(res="web"),
         "docker_compose('compose.yaml')\ndocker_build('img', '.', live_update=[sync('src', '/app'), restart_container()])\n",
         {**PROJECT, "compose.yaml": COMPOSE}),
    Case("TL408", K8S_IMG + "docker_build('img', '.', live_update=[fall_back_on('Dockerfile'), restart_container()])\n", (1, 37),
         "live_update: spec.syncs: Invalid value: null: must contain at least 1 sync or 1 exec to run on live update",
         K8S_IMG + "docker_build('img', '.', live_update=[fall_back_on('Dockerfile'), run('make')])\n", PROJECT),
    Case("TL409", K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app'), 'make'])\n", (1, 0),
         "docker_build: live_update: 'steps' must be a list of live update steps - got value '\"make\"' of type 'string'",
         K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app'), run('make')])\n", PROJECT),
    # ---- files
    Case("TL501", "k8s_yaml('nope.yaml')\n", (0, 9), "k8s_yaml: file not found: ", "k8s_yaml('k8s.yaml')\n", PROJECT),
    Case("TL502", K8S_IMG + "docker_build('img', '.', dockerfile='Dockerfile.dev')\n", (1, 0), "Dockerfile not found: ",
         K8S_IMG + "docker_build('img', '.', dockerfile='Dockerfile')\n", PROJECT),
    Case("TL503", "docker_compose('nope.yaml')\n", (0, 15), "docker_compose: file not found: ",
         "docker_compose('compose.yaml')\n", {**PROJECT, "compose.yaml": COMPOSE}),
    Case("TL504", K8S_IMG + "docker_build('img', '.', live_update=[sync('nothere', '/app')])\n", (1, 38),
         "sync source does not exist: ", K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app')])\n", PROJECT),
    Case("TL505", "x = read_file('nope.txt')\n", (0, 4), "read_file: file not found: ", "x = read_file('nope.txt', default='')\n"),
    Case("TL506", K8S_IMG + "docker_build('img', 'nodir', dockerfile='Dockerfile')\n", (1, 0), "build context does not exist",
         K8S_IMG + "docker_build('img', 'src', dockerfile='Dockerfile')\n", PROJECT),
    # ---- resources and images
    Case("TL601", K8S_IMG + "docker_build('img', '.')\nlive_update('ghost', [sync('src', '/app')])\n", (2, 0),
         "live_update for image 'ghost', but no docker_build or custom_build builds it",
         K8S_IMG + "docker_build('img', '.')\nlive_update('img', [sync('src', '/app')])\n", PROJECT),
    Case("TL602", K8S_IMG + "docker_build('img', '.')\ndocker_build('img', 'src')\n", (2, 0), "Image for ref 'img' has already been defined",
         K8S_IMG + "docker_build('img', '.')\n", PROJECT),
    Case("TL603", K8S_IMG + "k8s_resource('wbe', port_forwards=8000)\n", (1, 0), "no workload found matching 'wbe' (did you mean web?)",
         K8S_IMG + "k8s_resource('web', port_forwards=8000)\n", PROJECT),
    Case("TL604", "local_resource('a', 'echo 1')\nlocal_resource('a', 'echo 2')\n", (1, 0), "local_resource named 'a' already exists",
         "local_resource('a', 'echo 1')\nlocal_resource('b', 'echo 2')\n"),
    Case("TL605", "docker_compose('compose.yaml')\ndc_resource('wbe')\n", (1, 0), "no Docker Compose service named 'wbe' (did you mean web?)",
         "docker_compose('compose.yaml')\ndc_resource('web')\n", {**PROJECT, "compose.yaml": COMPOSE}),
    Case("TL606", K8S_IMG + "docker_build('img', '.')\ndocker_build('other', '.')\n", (2, 0), "'other' is built but no Kubernetes object",
         K8S_IMG + "docker_build('img', '.')\n", PROJECT),
    # ---- information
    Case("TL901", K8S_IMG + "docker_build('img', '.')\nlive_update('img', [sync('src', '/app')])\n", (2, 0),
         "write docker_build('img', ..., live_update=[...]) instead",
         K8S_IMG + "docker_build('img', '.', live_update=[sync('src', '/app')])\n", PROJECT),
    Case("TL902", "test('unit', 'make test')\n", (0, 0), "test() is deprecated",
         "local_resource('unit', 'make test', labels=['test'])\n"),
]


def _ids() -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in CASES:
        seen[c.code] = seen.get(c.code, 0) + 1
        out.append(f"{c.code}-{seen[c.code]}")
    return out


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_bad_case_produces_code(tmp_path: Path, case: Case) -> None:
    m = run(tmp_path, case.bad, case.files, time_budget_s=0.3 if case.code == "TL303" else 10.0)
    found = [d for d in m.diagnostics if d.code == case.code]
    assert found, f"{case.code} not reported:\n{fmt(m)}"
    d = next((d for d in found if case.message in d.message), None)
    assert d is not None, f"no {case.code} with {case.message!r}:\n{fmt(m)}"
    assert d.severity == CODES[case.code].severity
    if case.at is not None:
        assert start(d) == case.at, fmt(m)
    assert d.range.end >= d.range.start
    assert Path(d.path).name == "Tiltfile"


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_good_case_does_not(tmp_path: Path, case: Case) -> None:
    m = run(tmp_path, case.good, case.files, time_budget_s=10.0)
    assert case.code not in codes(m), fmt(m)
    assert not errors(m), fmt(m)


def test_every_code_has_a_case() -> None:
    # TL410 comes from a failing run() during live update: tests/lsp/test_liveupdate_lsp.py covers it.
    assert {c.code for c in CASES} == set(CODES) - RUNTIME_CODES


def test_json_severity_labels(tmp_path: Path) -> None:
    m = run(tmp_path, "warn('w')\nfail('e')\n")
    assert {d.to_json()["severity"] for d in m.diagnostics} == {"warning", "error"}
    assert all(d.to_json()["code"] in CODES for d in m.diagnostics)


# ------------------------------------------------------------------ live_update ordering, Tilt's words


@pytest.mark.parametrize(
    "steps,message",
    [
        ("sync('src', '/a'), initial_sync()", "initial_sync must appear at most once, at the start of the list"),
        ("initial_sync(), initial_sync(), sync('src', '/a')", "initial_sync must appear at most once, at the start of the list"),
        ("sync('src', '/a'), fall_back_on('Dockerfile')", "fall_back_on steps must appear at the start of the list"),
        ("run('x'), fall_back_on('Dockerfile')", "fall_back_on steps must appear at the start of the list"),
        ("run('x'), sync('src', '/a')", "all sync steps must precede all run steps"),
        ("sync('src', '/a'), restart_container(), run('x')", "restart container is only valid as the last step"),
        ("sync('src', '/a'), restart_container(), sync('src', '/b')", "restart container is only valid as the last step"),
    ],
)
def test_live_update_order_messages(tmp_path: Path, steps: str, message: str) -> None:
    src = f"docker_compose('compose.yaml')\ndocker_build('img', '.', live_update=[{steps}])\n"
    m = run(tmp_path, src, {**PROJECT, "compose.yaml": COMPOSE})
    d = only(m, "TL401")
    assert d.message == f"live_update: {message}"
    assert d.severity == Severity.ERROR
    assert d.range.start.line == 1


def test_live_update_valid_orders(tmp_path: Path) -> None:
    src = (
        "docker_compose('compose.yaml')\n"
        "docker_build('img', '.', live_update=[initial_sync(), fall_back_on(['Dockerfile']), fall_back_on('src'),\n"
        "    sync('src', '/a'), sync('k8s.yaml', '/b'), run('x'), run(['y', 'z']), restart_container(), restart_container()])\n"
    )
    m = run(tmp_path, src, {**PROJECT, "compose.yaml": COMPOSE})
    assert "TL401" not in codes(m), fmt(m)
    assert not errors(m), fmt(m)


def test_unused_steps_message(tmp_path: Path) -> None:
    src = "a = sync('src', '/app')\nb = run('echo hi', trigger='src/app.py')\nc = restart_container()\n"
    m = run(tmp_path, src, PROJECT)
    ds = [d for d in m.diagnostics if d.code == "TL403"]
    assert [d.range.start.line for d in ds] == [0, 1, 2]
    root = str(tmp_path)
    assert f"value 'sync step: '{root}/src'->'/app'' of type 'live_update_sync_step'" in ds[0].message
    assert f"value 'run step: \"echo hi\" (triggers: {root}/src/app.py)' of type 'live_update_run_step'" in ds[1].message
    assert "value 'restart_container step' of type 'live_update_restart_container_step'" in ds[2].message
    assert all("created but not used in a live_update" in d.message for d in ds)


def test_sync_source_not_child_message(tmp_path: Path) -> None:
    src = K8S_IMG + "docker_build('img', 'src', live_update=[sync('k8s.yaml', '/k')])\n"
    m = run(tmp_path, src, {**PROJECT, "src/Dockerfile": DOCKERFILE})
    d = only(m, "TL404")
    assert d.message == f"sync step source '{tmp_path}/k8s.yaml' is not a child of any watched filepaths ([{tmp_path}/src])"
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (1, 40, 62)


def test_restart_container_on_k8s_message_names_resources(tmp_path: Path) -> None:
    deploy2 = DEPLOY.replace("name: web", "name: api")
    src = "k8s_yaml(['k8s.yaml', 'k8s2.yaml'])\ndocker_build('img', '.', live_update=[sync('src', '/app'), restart_container()])\n"
    m = run(tmp_path, src, {**PROJECT, "k8s2.yaml": deploy2})
    d = only(m, "TL407")
    assert d.message.startswith("Found `restart_container()` LiveUpdate step in resource(s): [web, api]. `restart_container()`  has been")
    assert d.message.endswith("https://docs.tilt.dev/live_update_reference.html#restarting-your-process")


def test_live_update_single_step_and_k8s_custom_deploy_selectors(tmp_path: Path) -> None:
    src = (
        "k8s_custom_deploy('cd', apply_cmd='x', delete_cmd='y', deps=['src'], live_update=[sync('src', '/a')])\n"
    )
    m = run(tmp_path, src, PROJECT)
    assert any("no Live Update selector specified" in d.message for d in errors(m)), fmt(m)
    src = (
        "k8s_custom_deploy('cd', apply_cmd='x', delete_cmd='y', deps=['src'], image_selector='img',\n"
        "    container_selector='c', live_update=sync('src', '/a'))\n"
    )
    m = run(tmp_path, src, PROJECT)
    assert any("cannot specify more than one Live Update selector" in d.message for d in errors(m)), fmt(m)


# ----------------------------------------------------------------------------- names


def test_undefined_names_all_reported_with_did_you_mean(tmp_path: Path) -> None:
    m = run(tmp_path, "servce = 'a'\nprint(service)\nk8s_yamll('x')\nlocal_resource('a', cmd=commnd)\n")
    msgs = sorted(d.message for d in m.diagnostics if d.code == "TL201")
    assert msgs == [
        "undefined: commnd",
        "undefined: k8s_yamll (did you mean k8s_yaml?)",
        "undefined: service (did you mean servce?)",
    ]


def test_undefined_in_unexecuted_branch_is_still_reported(tmp_path: Path) -> None:
    m = run(tmp_path, "if False:\n    nope()\ndef never():\n    return also_nope\n")
    assert sorted(d.message for d in m.diagnostics) == ["undefined: also_nope", "undefined: nope"]


def test_comprehension_and_lambda_scopes(tmp_path: Path) -> None:
    m = run(tmp_path, "xs = [y for y in range(3)]\nf = lambda q: q + 1\nprint(y)\nprint(q)\n")
    assert sorted(d.message for d in errors(m)) == ["undefined: q", "undefined: y"]


def test_runtime_names_of_stub_parameters(tmp_path: Path) -> None:
    src = (
        "shlex.quote(s='x')\n"
        "blob(contents='x')\n"
        "fall_back_on(files=['a'])\n"
        "workload_to_resource_function(fn=lambda x: 'a')\n"
    )
    m = run(tmp_path, src)
    got = sorted(d.message for d in m.diagnostics if d.code == "TL202")
    assert got == [
        "blob: unexpected keyword argument contents (did you mean input?)",
        "fall_back_on: unexpected keyword argument files (did you mean paths?)",
        "shlex.quote: unexpected keyword argument s (did you mean name?)",
        "workload_to_resource_function: unexpected keyword argument fn (did you mean func?)",
    ]


def test_ignored_arguments_are_not_errors(tmp_path: Path) -> None:
    m = run(tmp_path, "x = os.path.join('a', 'b', sep='/')\ny = k8s_context('ignored')\nz = k8s_namespace(1, 2)\nprint(x)\n")
    assert not m.diagnostics, fmt(m)
    assert [o.text for o in m.output] == ["a/b"]


def test_static_and_runtime_duplicate_reported_once(tmp_path: Path) -> None:
    m = run(tmp_path, "x = read_file(file_path='a')\n")
    assert len([d for d in m.diagnostics if d.code == "TL202"]) == 1, fmt(m)


# --------------------------------------------------------- many problems per file


def test_syntax_error_does_not_hide_later_problems(tmp_path: Path) -> None:
    src = "a = 1\nb = 2\nc = (3 +\nd = 4\ne = 5\nf = 6\ng = 7\nh = 8\ni = 9\nprint(undefined_name)\n"
    m = run(tmp_path, src)
    assert [(d.code, d.range.start.line) for d in m.diagnostics] == [("TL101", 2), ("TL201", 9)]


def test_two_syntax_errors_both_reported(tmp_path: Path) -> None:
    m = run(tmp_path, "x = (\ny = 1\nz = ]\nprint(y)\n")
    assert [d.range.start.line for d in m.diagnostics if d.code == "TL101"] == [0, 2]
    assert [o.text for o in m.output] == ["1"]


def test_name_bound_in_broken_statement_does_not_cascade(tmp_path: Path) -> None:
    m = run(tmp_path, "x = (1,\ndef f(:\n    pass\nprint(x, f)\n")
    assert {d.code for d in m.diagnostics} == {"TL101"}, fmt(m)


def test_evaluation_errors_in_two_statements_both_reported(tmp_path: Path) -> None:
    m = run(tmp_path, "x = {}['a']\ny = 1\nz = [1][3]\nfail('third')\n")
    assert [(d.code, d.range.start.line) for d in m.diagnostics] == [("TL302", 0), ("TL302", 2), ("TL301", 3)]


def test_error_inside_loop_body_reported_once_and_rest_runs(tmp_path: Path) -> None:
    m = run(tmp_path, "for i in range(3):\n    x = {}[i]\nprint('done')\n")
    assert len(errors(m)) == 1
    assert [o.text for o in m.output] == ["done"]


# --------------------------------------------------------------- loaded files


def test_loaded_file_error_has_call_chain_and_root_site(tmp_path: Path) -> None:
    files = {
        "lib/util.star": "def bad(x):\n    return x['missing']\n",
        "lib/mid.star": "load('./util.star', 'bad')\ndef go():\n    return bad({})\n",
    }
    m = run(tmp_path, "x = 1\nload('./lib/mid.star', 'go')\ngo()\n", files)
    inner = next(d for d in m.diagnostics if d.code == "TL302")
    assert Path(inner.path) == tmp_path / "lib" / "util.star"
    assert start(inner) == (1, 11)
    chain = [(Path(r.location.path).name, r.location.range.start.line) for r in inner.related]
    assert chain == [("Tiltfile", 2), ("mid.star", 2)]
    outer = only(m, "TL308")
    assert Path(outer.path).name == "Tiltfile" and start(outer) == (2, 0)
    assert outer.message == "error in lib/util.star:2: key \"missing\" not in dict"
    assert outer.related[0].location == Location(inner.path, inner.range)
    assert outer.related[1:] == inner.related


def test_error_while_loading_is_reported_at_the_load(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./lib.star', 'v')\nprint(v)\n", {"lib.star": "v = 1\nw = {}['x']\n"})
    outer = only(m, "TL308")
    assert start(outer) == (0, 5)
    assert "lib.star:2" in outer.message
    assert [o.text for o in m.output] == ["1"]


def test_syntax_error_in_loaded_file(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./lib.star', 'v', 'w')\nprint(v)\n", {"lib.star": "v = 1\nw = (\n"})
    d = next(d for d in m.diagnostics if d.code == "TL101")
    assert Path(d.path).name == "lib.star"
    assert "TL201" not in codes(m)


def test_local_names_shadowing_builtins_are_not_checked_as_builtins(tmp_path: Path) -> None:
    src = (
        "def f(run, sync=None):\n"
        "    return run(1, 2, 3, 4, 5, bogus=1)\n"
        "def g():\n"
        "    local = lambda *a, **k: 1\n"
        "    return local(1, 2, 3, 4, 5, 6, 7, nope=1)\n"
        "xs = [blob(q=1) for blob in [lambda **k: 1]]\n"
        "f(lambda *a, **k: 1)\n"
        "g()\n"
        "def h():\n"
        "    return read_file(file_path='x')\n"
    )
    m = run(tmp_path, src)
    assert [(d.code, d.range.start.line) for d in m.diagnostics] == [("TL202", 9)], fmt(m)


def test_unknown_values_do_not_cascade_into_resource_checks(tmp_path: Path) -> None:
    src = "y = {}['k']\nk8s_yaml(y)\nk8s_yaml(['k8s.yaml', y])\ndocker_build('other', '.')\nk8s_resource('nothing')\n"
    m = run(tmp_path, src, PROJECT)
    assert codes(m) == ["TL302"], fmt(m)


def test_names_bound_inside_a_broken_block_do_not_cascade(tmp_path: Path) -> None:
    src = (
        "if True:\n"
        "    x = 1\n"
        "    a, b = 1, 2\n"
        "    for k, v in {}.items():\n"
        "        n += 1\n"
        "    y = (\n"
        "z = x + a + b + k + v + n\n"
        "print(undefined_for_real)\n"
    )
    m = run(tmp_path, src)
    assert [(d.code, d.range.start.line) for d in m.diagnostics] == [("TL101", 5), ("TL201", 7)], fmt(m)
