"""Every builtin family evaluates into the model the way Tilt would see it."""

from __future__ import annotations

from pathlib import Path

from tilt_lsp.tiltfile.model import PortForward, RunStep, SyncStep

from .helpers import codes, errors, fmt, no_errors, only, prints, run, start

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}}}
spec:
  template:
    spec:
      containers:
      - name: {name}
        image: {image}
"""


def deploy(name: str = "web", image: str = "img", ns: str = "default") -> str:
    return DEPLOY.format(name=name, image=image, ns=ns)


BASE = {"Dockerfile": "FROM busybox\n", "k8s.yaml": deploy(), "src/app.py": "print(1)\n", "requirements.txt": ""}


# ------------------------------------------------------------------------------ build


def test_docker_build_all_options(tmp_path: Path) -> None:
    src = """\
k8s_yaml('k8s.yaml')
docker_build('img', 'src', dockerfile='docker/Dockerfile.dev', build_args={'A': '1', 'B': 2}, target='dev',
    only=['app.py'], ignore=['*.pyc', '__pycache__'], entrypoint='python app.py', extra_tag='x:1',
    network='host', pull=True, platform='linux/amd64', ssh='default', secret=['id=s'], cache_from=['c'],
    container_args=['--v'], match_in_env_vars=True)
docker_build('inline', '.', dockerfile_contents='FROM scratch\\n')
"""
    m = run(tmp_path, src, {**BASE, "docker/Dockerfile.dev": "FROM busybox\n"})
    no_errors(m)
    img = m.image("img")
    assert img is not None
    assert img.kind == "docker_build"
    assert img.context == str(tmp_path / "src")
    assert img.dockerfile == str(tmp_path / "docker" / "Dockerfile.dev")  # relative to the Tiltfile, not the context
    assert dict(img.build_args) == {"A": "1", "B": "2"}
    assert img.target == "dev"
    assert img.only == ("app.py",) and img.ignore == ("*.pyc", "__pycache__")
    assert img.entrypoint == ("sh", "-c", "python app.py")
    assert img.live_update is None
    assert img.tiltfile_dir == str(tmp_path)
    assert img.location is not None and start_of(img.location) == (1, 0)
    inline = m.image("inline")
    assert inline is not None
    assert inline.dockerfile is None and inline.dockerfile_contents == "FROM scratch\n"
    assert "TL502" not in codes(m)


def start_of(loc: object) -> tuple[int, int]:
    r = loc.range  # type: ignore[attr-defined]
    return (r.start.line, r.start.character)


def test_docker_build_default_dockerfile_is_in_context(tmp_path: Path) -> None:
    m = run(tmp_path, "k8s_yaml('k8s.yaml')\ndocker_build('img', 'src')\n", {**BASE, "src/Dockerfile": "FROM x\n"})
    no_errors(m)
    img = m.image("img")
    assert img is not None and img.dockerfile == str(tmp_path / "src" / "Dockerfile")


def test_custom_build(tmp_path: Path) -> None:
    src = """\
k8s_yaml('k8s.yaml')
cb = custom_build('img', 'docker build -t $EXPECTED_REF .', deps=['src', 'Dockerfile'], tag='dev', disable_push=True,
    skips_local_docker=True, ignore=['*.log'], live_update=[sync('src', '/app')], outputs_image_ref_to='ref.txt')
print(type(cb))
custom_build('img2', ['make', 'image'], ['src'])
"""
    m = run(tmp_path, src, BASE)
    assert not errors(m), fmt(m)
    img = m.image("img")
    assert img is not None and img.kind == "custom_build"
    assert img.command == ("sh", "-c", "docker build -t $EXPECTED_REF .")
    assert img.deps == (str(tmp_path / "src"), str(tmp_path / "Dockerfile"))
    assert img.watch_paths == img.deps
    assert img.ignore == ("*.log",)
    assert img.live_update is not None and img.live_update.syncs[0].local == str(tmp_path / "src")
    img2 = m.image("img2")
    assert img2 is not None and img2.command == ("make", "image")
    assert prints(m) == ["custom_build"]


# ------------------------------------------------------------------------ live update


def test_live_update_spec(tmp_path: Path) -> None:
    src = """\
k8s_yaml('k8s.yaml')
docker_build('img', '.', live_update=[
    initial_sync(),
    fall_back_on(['requirements.txt']),
    sync('src', '/app/src'),
    run('pip install -r requirements.txt', trigger='./requirements.txt'),
    run(['touch', '/tmp/x'], trigger=['src/app.py'], echo_off=True),
])
"""
    m = run(tmp_path, src, BASE)
    no_errors(m)
    img = m.image("img")
    assert img is not None
    lu = img.live_update
    assert lu is not None and lu.enabled
    assert lu.base_dir == str(tmp_path)
    assert lu.initial_sync is True
    assert lu.fall_back_on == (str(tmp_path / "requirements.txt"),)
    assert [(s.local, s.remote) for s in lu.syncs] == [(str(tmp_path / "src"), "/app/src")]
    assert [(r.argv, r.triggers, r.echo_off) for r in lu.runs] == [
        (("sh", "-c", "pip install -r requirements.txt"), (str(tmp_path / "requirements.txt"),), False),
        (("touch", "/tmp/x"), (str(tmp_path / "src" / "app.py"),), True),
    ]
    assert lu.restart_container is False and lu.classic is False
    # Each step keeps its source range; the spec keeps the live_update=[...] argument's.
    assert lu.syncs[0].location is not None and start_of(lu.syncs[0].location) == (4, 4)
    assert lu.runs[1].location is not None and start_of(lu.runs[1].location) == (6, 4)
    assert lu.location is not None and start_of(lu.location) == (1, 37)
    assert lu.runs[0].display == "pip install -r requirements.txt"
    assert lu.runs[1].display == "touch /tmp/x"


def test_live_update_single_step_not_in_list(tmp_path: Path) -> None:
    m = run(tmp_path, "k8s_yaml('k8s.yaml')\ndocker_build('img', '.', live_update=sync('src', '/app'))\n", BASE)
    no_errors(m)
    img = m.image("img")
    assert img is not None and img.live_update is not None
    assert img.live_update.syncs == (SyncStep(str(tmp_path / "src"), "/app", img.live_update.syncs[0].location),)


def test_live_update_restart_container_for_compose(tmp_path: Path) -> None:
    compose = "services:\n  web:\n    image: img\n    build: .\n"
    src = "docker_compose('compose.yaml')\ndocker_build('img', '.', live_update=[sync('src', '/a'), restart_container()])\n"
    m = run(tmp_path, src, {**BASE, "compose.yaml": compose})
    no_errors(m)
    img = m.image("img")
    assert img is not None and img.live_update is not None and img.live_update.restart_container


def test_classic_live_update_attaches_to_image(tmp_path: Path) -> None:
    src = "k8s_yaml('k8s.yaml')\ndocker_build('img', '.')\nlive_update('img', [sync('src', '/app'), run('make')])\n"
    m = run(tmp_path, src, BASE)
    no_errors(m)
    img = m.image("img")
    assert img is not None and img.live_update is not None
    assert img.live_update.classic is True
    assert img.live_update.runs == (RunStep(("sh", "-c", "make"), (), False, img.live_update.runs[0].location),)
    d = only(m, "TL901")
    assert start(d) == (2, 0)
    assert "docker_build('img', ..., live_update=[...])" in d.message


def test_step_values_and_errors(tmp_path: Path) -> None:
    src = "s = sync('src', '/a')\nprint(type(s), type(run('x')), type(initial_sync()), type(fall_back_on('x')), type(restart_container()))\n"
    m = run(tmp_path, src, BASE)
    assert prints(m) == [
        "live_update_sync_step live_update_run_step live_update_initial_sync_step "
        "live_update_fall_back_on_step live_update_restart_container_step"
    ]
    m = run(tmp_path, "r = run('make', trigger=[1])\n", BASE)
    assert [d.message for d in errors(m)] == [
        "run cmd 'make' triggers contained value '1' of type 'int'. it may only contain strings"
    ]
    m = run(tmp_path, "f = fall_back_on(1)\n", BASE)
    assert any(
        d.message == "fall_back_on: for parameter paths: value should be a string or List or Tuple of strings, but is of type int"
        for d in errors(m)
    ), fmt(m)


# ------------------------------------------------------------------------------- k8s

MULTI = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      initContainers:
      - name: migrate
        image: migrator
      containers:
      - name: web
        image: img:latest
---
apiVersion: v1
kind: Service
metadata:
  name: web-svc
spec:
  selector:
    app: nothing-matches
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
            image: gcr.io/x/job@sha256:abc
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cfg
- apiVersion: apps/v1
  kind: StatefulSet
  metadata:
    name: web
  spec:
    template:
      spec:
        containers:
        - name: db
          image: postgres
"""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: solo
spec:
  containers:
  - name: s
    image: solo-img
"""


def test_k8s_yaml_sources_and_containers(tmp_path: Path) -> None:
    src = """\
k8s_yaml('all.yaml')
k8s_yaml(['ns.yaml', 'empty.yaml'])
k8s_yaml(read_file('ds.yaml'))
k8s_yaml(blob(POD))
k8s_yaml(encode_yaml({'apiVersion': 'v1', 'kind': 'Secret', 'metadata': {'name': 'sec'}}))
"""
    files = {
        "all.yaml": MULTI,
        "ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n",
        "empty.yaml": "",
        "ds.yaml": deploy("agent", "agent-img").replace("Deployment", "DaemonSet"),
    }
    m = run(tmp_path, "POD = '''" + POD + "'''\n" + src, files)
    assert not errors(m), fmt(m)
    got = [(o.kind, o.name, o.namespace, tuple((c.name, c.image) for c in o.containers)) for o in m.k8s_objects]
    assert got == [
        ("Deployment", "web", "prod", (("migrate", "migrator"), ("web", "img:latest"))),
        ("Service", "web-svc", None, ()),
        ("CronJob", "nightly", None, (("job", "gcr.io/x/job@sha256:abc"),)),
        ("ConfigMap", "cfg", None, ()),
        ("StatefulSet", "web", None, (("db", "postgres"),)),
        ("Namespace", "ns1", None, ()),
        ("DaemonSet", "agent", "default", (("agent", "agent-img"),)),
        ("Pod", "solo", None, (("s", "solo-img"),)),
        ("Secret", "sec", None, ()),
    ]
    assert m.k8s_objects[0].source_file == str(tmp_path / "all.yaml")
    assert m.k8s_objects[6].source_file == str(tmp_path / "ds.yaml")  # read_file keeps where it came from
    assert m.k8s_objects[0].selector == "web:deployment:prod"
    assert m.k8s_objects[0].images == ("migrator", "img:latest")


def test_resource_naming_and_k8s_resource_settings(tmp_path: Path) -> None:
    src = """\
k8s_yaml('all.yaml')
docker_build('img', '.')
k8s_resource('web:deployment', new_name='frontend', port_forwards=['8000:80', 9000, port_forward(7000, 70, name='dbg')],
    resource_deps=['db'], labels=['backend'], trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False,
    links=['http://x', link('http://y', 'Y')], objects=['cfg:configmap'])
k8s_resource(new_name='svc', objects=['web-svc'])
"""
    m = run(tmp_path, src, {**BASE, "all.yaml": MULTI})
    assert not errors(m), fmt(m)
    by_name = {r.name: r for r in m.resources}
    assert set(by_name) == {"frontend", "nightly", "web:statefulset", "svc"}
    fe = by_name["frontend"]
    assert [o.kind for o in fe.objects] == ["Deployment", "ConfigMap"]
    assert fe.port_forwards == (PortForward(8000, 80), PortForward(9000), PortForward(7000, 70, "dbg"))
    assert fe.deps == ("db",) and fe.labels == ("backend",)
    assert fe.trigger_mode == "manual" and fe.auto_init is False
    assert fe.images == ("img",)
    assert [o.name for o in by_name["svc"].objects] == ["web-svc"]
    cfg = m.k8s_resources[0]
    assert cfg.workload == "web:deployment" and cfg.links == ("http://x", "http://y")


def test_uncategorized_and_duplicate_workload_names(tmp_path: Path) -> None:
    files = {
        "a.yaml": deploy("web", "x", "a") + "---\n" + deploy("web", "y", "b") + "---\n"
        + deploy("web", "z", "a").replace("Deployment", "StatefulSet")
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loose\n",
    }
    m = run(tmp_path, "k8s_yaml('a.yaml')\n", files)
    res = {r.name: r for r in m.resources}
    assert set(res) == {"uncategorized", "web:deployment:a", "web:deployment:b", "web:statefulset"}
    assert [o.name for o in res["uncategorized"].objects] == ["loose"]
    assert [(o.kind, o.namespace) for o in res["web:deployment:b"].objects] == [("Deployment", "b")]


def test_workload_to_resource_function(tmp_path: Path) -> None:
    src = """\
k8s_yaml('k8s.yaml')
def name_it(id):
    return '%s-%s-%s-%s' % (id.namespace, id.name, id.kind.lower(), id.group)
workload_to_resource_function(name_it)
k8s_resource('default-web-deployment-apps', port_forwards=80)
"""
    m = run(tmp_path, src, BASE)
    assert not errors(m), fmt(m)
    assert [(r.name, r.port_forwards) for r in m.resources] == [("default-web-deployment-apps", (PortForward(80),))]


def test_k8s_resource_unknown_workload_lists_candidates(tmp_path: Path) -> None:
    m = run(tmp_path, "k8s_yaml('k8s.yaml')\nk8s_resource('zzz')\n", BASE)
    assert only(m, "TL603").message == "k8s_resource: no workload found matching 'zzz'; workloads are: web, web:deployment, web:deployment:default"


# ------------------------------------------------------------------------- local


def test_local_resource_and_test(tmp_path: Path) -> None:
    src = """\
local_resource('lint', cmd='make lint', deps=['src'], ignore=['*.tmp'], resource_deps=['api'], labels=['ci'],
    auto_init=False, allow_parallel=True, dir='sub', serve_cmd=['python', '-m', 'http.server'],
    trigger_mode=TRIGGER_MODE_MANUAL, readiness_probe=probe(http_get=http_get_action(8000)),
    links=['http://localhost:8000'], env={'A': 'b'}, serve_env={'B': 'c'}, serve_dir='sub')
test('unit', 'pytest', deps=['tests'])
local_resource('only-serve', serve_cmd='npm start')
"""
    m = run(tmp_path, src, {"sub/x": ""})
    assert not errors(m), fmt(m)
    lint, unit, serve = m.local_resources
    assert lint.cmd == ("sh", "-c", "make lint") and lint.serve_cmd == ("python", "-m", "http.server")
    assert lint.deps == (str(tmp_path / "src"),) and lint.ignore == ("*.tmp",)
    assert lint.dir == str(tmp_path / "sub") and lint.trigger_mode == "manual"
    assert (lint.auto_init, lint.allow_parallel, lint.labels, lint.resource_deps) == (False, True, ("ci",), ("api",))
    assert lint.links == ("http://localhost:8000",)
    assert unit.cmd == ("sh", "-c", "pytest") and unit.dir == str(tmp_path)
    assert serve.cmd is None and serve.serve_cmd == ("sh", "-c", "npm start")
    assert [r.name for r in m.resources] == ["lint", "unit", "only-serve"]
    assert all(r.type == "local" for r in m.resources)
    assert only(m, "TL902").range.start.line == 4


def test_global_trigger_mode_applies_to_local_resources(tmp_path: Path) -> None:
    m = run(tmp_path, "trigger_mode(TRIGGER_MODE_MANUAL)\nlocal_resource('a', 'x')\n")
    assert m.trigger_mode == "manual" and m.local_resources[0].trigger_mode == "manual"
    m = run(tmp_path, "trigger_mode(TRIGGER_MODE_MANUAL)\ntrigger_mode(TRIGGER_MODE_AUTO)\n")
    assert any("trigger_mode can only be called once" in d.message for d in errors(m)), fmt(m)


# ---------------------------------------------------------------------- compose

COMPOSE = """\
services:
  api:
    build:
      context: ./api
      dockerfile: Dockerfile.dev
  web:
    build: web
    image: myweb
  db:
    image: postgres
"""


def test_docker_compose_and_dc_resource(tmp_path: Path) -> None:
    src = """\
docker_compose(['compose.yaml', 'compose.override.yaml'], project_name='proj')
dc_resource('api', trigger_mode=TRIGGER_MODE_MANUAL, resource_deps=['db'], labels=['be'], new_name='backend')
docker_build('myweb', 'web')
"""
    files = {
        "compose.yaml": COMPOSE,
        "compose.override.yaml": "services:\n  db:\n    image: postgres:16\n",
        "api/Dockerfile.dev": "FROM x\n",
        "web/Dockerfile": "FROM x\n",
    }
    m = run(tmp_path, src, files)
    assert not errors(m), fmt(m)
    (proj,) = m.compose
    assert proj.config_paths == (str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yaml"))
    assert proj.project_name == "proj"
    svcs = {s.name: s for s in proj.services}
    assert svcs["api"].build_context == str(tmp_path / "api")
    assert svcs["api"].dockerfile == str(tmp_path / "api" / "Dockerfile.dev")
    assert svcs["web"].build_context == str(tmp_path / "web") and svcs["web"].image == "myweb"
    assert svcs["db"].image == "postgres:16" and svcs["db"].build_context is None  # override file wins
    res = {r.name: r for r in m.resources}
    assert set(res) == {"backend", "web", "db"}
    assert res["backend"].trigger_mode == "manual" and res["backend"].deps == ("db",)
    assert res["web"].images == ("myweb",)
    assert all(r.type == "docker_compose" for r in m.resources)


def test_dc_resource_hidden_image_parameter(tmp_path: Path) -> None:
    m = run(tmp_path, "docker_compose('c.yaml')\ndc_resource('db', TRIGGER_MODE_MANUAL)\n", {"c.yaml": COMPOSE})
    assert any(d.message == "image arg must be a string; got TriggerMode" for d in errors(m)), fmt(m)


# ------------------------------------------------------------------------ files


def test_files_builtins(tmp_path: Path) -> None:
    src = """\
print(read_file('missing.txt', default='dflt'), type(read_file('a.txt')), str(read_file('a.txt')).strip())
print(listdir('.'))
print(listdir('sub', recursive=True))
watch_file('w.txt')
"""
    m = run(tmp_path, src, {"a.txt": "  hello \n", "sub/x.txt": "", "sub/deep/y.txt": ""})
    assert not errors(m), fmt(m)
    t = str(tmp_path)
    assert prints(m) == [
        "dflt blob hello",
        f'["{t}/Tiltfile", "{t}/a.txt"]',
        f'["{t}/sub/x.txt", "{t}/sub/deep/y.txt"]',
    ]


def test_blob_has_no_methods(tmp_path: Path) -> None:
    m = run(tmp_path, "x = read_file('a.txt').strip()\n", {"a.txt": "a"})
    (d,) = errors(m)
    assert "blob has no .strip field or method" in d.message


# -------------------------------------------------------------------- encodings


def test_encodings_round_trip(tmp_path: Path) -> None:
    src = """\
d = read_json('cfg.json')
print(d, d['k'][1])
print(read_yaml('c.yaml'), read_yaml_stream('s.yaml'), read_yaml('none.yaml', default={'x': 1}))
print(decode_json('{"a": [1, true, null]}'), decode_yaml('a: b'), decode_yaml_stream('a: 1\\n---\\nb: 2\\n'))
print(str(encode_yaml({'z': 1, 'a': [1, 2]})))
print(str(encode_yaml_stream([{'a': 1}, {'b': 2}])))
v = {'r': 'trip', 'n': 1.5, 'l': [1, None, True], 'd': {'x': 'y'}}
print(decode_json(encode_json(v)) == v, decode_yaml(encode_yaml(v)) == v, decode_yaml_stream(encode_yaml_stream([v, v])) == [v, v])
"""
    files = {"cfg.json": '{"k": [1, 2], "s": "v"}', "c.yaml": "a: 1\nb: [x, y]\n", "s.yaml": "a: 1\n---\nb: 2\n"}
    m = run(tmp_path, src, files)
    assert not errors(m), fmt(m)
    assert prints(m) == [
        '{"k": [1, 2], "s": "v"} 2',
        '{"a": 1, "b": ["x", "y"]} [{"a": 1}, {"b": 2}] {"x": 1}',
        '{"a": [1, True, None]} {"a": "b"} [{"a": 1}, {"b": 2}]',
        "z: 1\na:\n- 1\n- 2\n",
        "a: 1\n---\nb: 2\n",
        "True True True",
    ]


def test_decode_errors(tmp_path: Path) -> None:
    m = run(tmp_path, "x = decode_json('{bad')\ny = read_yaml('two.yaml')\n", {"two.yaml": "a: 1\n---\nb: 2\n"})
    msgs = [d.message for d in errors(m)]
    assert len(msgs) == 2
    assert msgs[0].startswith("decode_json: error parsing JSON")


# ----------------------------------------------------------------------- config


def test_config(tmp_path: Path) -> None:
    src = """\
config.define_string('name', usage='who')
config.define_string_list('svcs', args=True)
config.define_bool('debug')
cfg = config.parse()
print(cfg, cfg.get('name'), cfg.get('debug', False), config.tilt_subcommand)
print(config.main_dir == os.getcwd(), config.main_path == __file__)
config.set_enabled_resources(cfg.get('svcs', []))
"""
    m = run(tmp_path, src, {"tilt_config.json": '{"name": "n1", "svcs": ["a", "b"]}'})
    assert not errors(m), fmt(m)
    assert prints(m) == ['{"name": "n1", "svcs": ["a", "b"]} n1 False up', "True True"]
    assert m.enabled_resources == ("a", "b")


def test_config_unknown_setting(tmp_path: Path) -> None:
    m = run(tmp_path, "config.define_string('a')\ncfg = config.parse()\n", {"tilt_config.json": '{"b": 1}'})
    assert any("unknown setting" in d.message for d in errors(m)), fmt(m)


# ------------------------------------------------------------------- os / shlex / sys


def test_os_path_shlex_sys(tmp_path: Path, monkeypatch: object) -> None:
    src = """\
print(os.getcwd() == os.path.dirname(__file__), os.path.basename(__file__), os.path.join('a', 'b', 'c'))
print(os.path.exists('a.txt'), os.path.exists('zzz'), os.path.abspath('x') == os.path.join(os.getcwd(), 'x'))
print(os.path.relpath(os.path.join(os.getcwd(), 'sub', 'f')), os.path.dirname('/a/b/c'))
print(os.getenv('TILT_LSP_TEST_NOPE', 'fallback'), os.getenv('TILT_LSP_TEST_NOPE'))
os.putenv('TILT_LSP_TEST_X', 'v')
print(os.getenv('TILT_LSP_TEST_X'), os.environ.get('TILT_LSP_TEST_X'), 'TILT_LSP_TEST_X' in os.environ)
os.unsetenv('TILT_LSP_TEST_X')
print(os.getenv('TILT_LSP_TEST_X'), os.name)
print(shlex.quote("it's here"), shlex.quote('plain'), sys.argv, sys.executable)
print(__name__)
"""
    m = run(tmp_path, src, {"a.txt": ""})
    assert not errors(m), fmt(m)
    assert prints(m) == [
        "True Tiltfile a/b/c",
        "True False True",
        "sub/f /a/b",
        "fallback None",
        "v v True",
        "None posix",
        "'it'\"'\"'s here' plain [\"tilt\", \"up\"] tilt",
        "__main__",
    ]
    import os

    assert "TILT_LSP_TEST_X" not in os.environ  # putenv only changes the evaluation's environment


def test_paths_resolve_against_the_executing_file(tmp_path: Path) -> None:
    lib = """\
here = os.getcwd()
k8s_yaml('k8s.yaml')
docker_build('img', '.', live_update=[sync('src', '/app')])
def later():
    return os.getcwd()
"""
    files = {"svc/Tiltfile": lib, "svc/k8s.yaml": deploy(), "svc/Dockerfile": "FROM x\n", "svc/src/a.py": ""}
    m = run(tmp_path, "load('./svc/Tiltfile', 'here', 'later')\nprint(here, later())\n", files)
    assert not errors(m), fmt(m)
    img = m.image("img")
    assert img is not None and img.context == str(tmp_path / "svc")
    assert img.live_update is not None and img.live_update.syncs[0].local == str(tmp_path / "svc" / "src")
    assert m.k8s_objects[0].source_file == str(tmp_path / "svc" / "k8s.yaml")
    # Like Tilt, a function defined in a loaded file but called from the main
    # Tiltfile sees the main Tiltfile's folder (tilt-dev/tilt#3700).
    assert prints(m) == [f"{tmp_path}/svc {tmp_path}"]


# ------------------------------------------------------------- values and objects


def test_struct_module_and_objects(tmp_path: Path) -> None:
    src = """\
s = struct(a=1, b='x')
print(s.a, s.b, s, type(s), dir(s), hasattr(s, 'a'), getattr(s, 'b'))
p = port_forward(8000, 80, name='x')
print(type(p), type(link('http://x', 'X')), type(probe(exec=exec_action(['true']))))
print(TRIGGER_MODE_AUTO, type(TRIGGER_MODE_MANUAL))
print(v1alpha1.ui_button(name='b', location={'component_type': 'Global'}, text='Hi'))
print(type(v1alpha1.kubernetes_apply_cmd(args=['kubectl', 'apply'])))
print(local_git_repo('.').paths('a') == os.path.join(os.getcwd(), 'a'))
y = s.nope
m = module('helpers', greet=lambda who: 'hi ' + who, n=2)
print(m.greet('you'), m.n, type(m))
"""
    m = run(tmp_path, src)
    assert prints(m) == [
        '1 x struct(a = 1, b = "x") struct ["a", "b"] True x',
        "port_forward link Probe",
        "<TriggerMode> TriggerMode",
        "None",
        "KubernetesApplyCmd",
        "True",
        "hi you 2 module",
    ]
    (d,) = errors(m)
    assert d.message == "struct has no .nope field or method" and d.range.start.line == 8


def test_print_and_warn_output(tmp_path: Path) -> None:
    m = run(tmp_path, "print('a', 1)\nwarn('careful')\nprint([1], sep='')\n")
    assert [(o.kind, o.text) for o in m.output] == [("print", "a 1"), ("warn", "careful"), ("print", "[1]")]
    assert [o.location.range.start.line for o in m.output if o.location] == [0, 1, 2]
    assert only(m, "TL307").message == "careful"


def test_filter_yaml(tmp_path: Path) -> None:
    src = """\
svc, rest = filter_yaml('all.yaml', kind='Service')
k8s_yaml(rest)
print(str(svc).count('kind:'), str(rest).count('kind:'))
byname, _ = filter_yaml(read_file('all.yaml'), name='^web$', namespace='prod')
print(str(byname).count('kind:'))
"""
    three = MULTI.split("---\napiVersion: v1\nkind: List")[0]  # Deployment, Service, CronJob
    m = run(tmp_path, src, {"all.yaml": three})
    assert not errors(m), fmt(m)
    assert prints(m) == ["1 2", "1"]
    assert "Service" not in [o.kind for o in m.k8s_objects]


# ------------------------------------------------------------------ placeholders


def test_local_never_runs_anything(tmp_path: Path) -> None:
    marker = tmp_path / "CREATED_BY_LOCAL"
    src = f"""\
out = local('touch {marker}')
out2 = local(['touch', '{marker}'], quiet=True, echo_off=True)
print(type(out), '[' + str(out).strip() + ']', str(out).split('\\n'), len(str(out2)))
"""
    m = run(tmp_path, src)
    assert not errors(m), fmt(m)
    assert not marker.exists()
    assert prints(m) == ['blob [] [""] 0']


def test_placeholder_values_flow_without_errors(tmp_path: Path) -> None:
    src = """\
branch = str(local('git rev-parse --abbrev-ref HEAD')).strip()
tag = 'dev-' + branch.replace('/', '-')
words = str(local('ls')).split()
k8s_yaml(helm('chart', name='r', namespace='n', values=['v.yaml'], set=['image.tag=' + tag]))
k8s_yaml(kustomize('overlays/dev'))
k8s_yaml(local('kubectl kustomize x'))
docker_build('img', '.')
k8s_resource('from-the-chart', port_forwards=80)
"""
    m = run(tmp_path, src, {"Dockerfile": "FROM x\n"})
    assert not m.diagnostics, fmt(m)  # no TL603 (unknown workload) or TL606 (unused image)
    assert m.k8s_objects == ()


def test_helm_kustomize_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "HELM_RAN"
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("name: c\n")
    m = run(tmp_path, f"x = helm('chart', set=['a=$(touch {marker})'])\ny = kustomize('.')\nprint(type(x), str(y) == '')\n")
    assert not marker.exists()
    assert prints(m) == ["blob True"]
