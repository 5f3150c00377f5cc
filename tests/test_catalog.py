"""Tests for the Tiltfile API catalog (tilt_lsp.tiltfile.catalog) and its packaged data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tilt_lsp.tiltfile import catalog

DATA = Path(catalog.__file__).resolve().parent / "data"
HAVE_MODULE_DOCS = (DATA / "docs_modules.json").is_file()


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def _fn(qualname: str) -> catalog.Function:
    fn = catalog.function(qualname)
    assert fn is not None, qualname
    return fn


def _documented(fn: catalog.Function) -> bool:
    return fn.module is None or HAVE_MODULE_DOCS


# --------------------------------------------------------------------------- data files


def test_api_facts_is_trimmed() -> None:
    facts = _load("api_facts.json")
    dropped = {"summary", "notes", "stub_file", "go_registered_in", "stub_vs_runtime", "deprecation_note"}
    for section in ("functions", "values", "types"):
        for entry in facts[section]:
            assert not dropped & set(entry), (section, entry["name"])
    for f in facts["functions"]:
        assert {
            "name",
            "module",
            "params",
            "runtime_params",
            "returns",
            "deprecated",
            "category",
            "in_stub",
        } <= set(f)
        for p in f["params"]:
            assert set(p) - {"deprecated"} == {"name", "kind", "default", "type"}
        for r in f["runtime_params"]:
            assert {"name", "optional", "none_means_unset"} <= set(r)


def test_counts() -> None:
    fns = catalog.functions()
    assert len(fns) == 123 + 1
    assert "live_update" in fns
    assert len(catalog.values()) == 14
    assert len(catalog.types()) == 41
    top = [f for f in fns.values() if f.module is None and not f.classic]
    assert len(top) == 68
    by_module: dict[str, int] = {}
    for f in fns.values():
        if f.module:
            by_module[f.module] = by_module.get(f.module, 0) + 1
    assert by_module == {"config": 7, "os": 4, "os.path": 7, "shlex": 1, "v1alpha1": 36}
    assert sum(f.go_only for f in fns.values()) == 10


def test_docs_core_covers_exactly_the_top_level_api() -> None:
    docs = _load("docs_core.json")
    expected = {q for q, f in catalog.functions().items() if f.module is None}
    assert set(docs["functions"]) == expected
    for qualname, entry in docs["functions"].items():
        fn = _fn(qualname)
        assert set(entry) == {"doc", "params", "example"}
        # No stray parameter docs: exactly the union of stub and run-time names.
        assert set(entry["params"]) == {p.name for p in fn.params}, qualname
    top_values = {q for q, v in catalog.values().items() if v.module is None}
    assert top_values <= set(docs["values"])
    assert set(docs["types"]) == set(catalog.types())


def test_qualnames_never_repeat_the_module() -> None:
    for qualname, fn in catalog.functions().items():
        assert qualname == fn.qualname
        if fn.module:
            assert qualname == f"{fn.module}.{fn.name}"
            assert not fn.name.startswith(fn.module.split(".")[0] + ".")
            assert "." not in fn.name
        else:
            assert qualname == fn.name
    for qualname, val in catalog.values().items():
        assert qualname == (f"{val.module}.{val.name}" if val.module else val.name)
    assert _fn("os.path.join").module == "os.path"
    assert _fn("v1alpha1.cmd").name == "cmd"


# --------------------------------------------------------------------------- docs


@pytest.mark.parametrize("qualname", sorted(catalog.functions()))
def test_every_function_is_documented(qualname: str) -> None:
    fn = _fn(qualname)
    label = catalog.signature_label(fn)
    assert label.startswith(qualname + "(")
    if not _documented(fn):
        pytest.skip("docs_modules.json not present yet")
    assert fn.doc.strip(), qualname
    for p in fn.params:
        assert p.doc.strip(), f"{qualname}: {p.name}"
    # Every run-time parameter has a documented counterpart in params.
    names = {p.name for p in fn.params}
    for r in fn.runtime_params:
        assert r.name.lstrip("*") in names or r.variadic, f"{qualname}: {r.name}"


def test_values_and_types_are_documented() -> None:
    for qualname, val in catalog.values().items():
        assert val.doc.strip(), qualname
    for name, ty in catalog.types().items():
        assert ty.doc.strip(), name
    assert set(catalog.values()) >= {
        "__file__",
        "__name__",
        "TRIGGER_MODE_AUTO",
        "TRIGGER_MODE_MANUAL",
        "None",
        "True",
        "False",
        "os.environ",
        "config.main_dir",
        "sys.argv",
    }
    assert catalog.values()["TRIGGER_MODE_MANUAL"].type == "TriggerMode"


def test_types() -> None:
    tys = catalog.types()
    assert {a.name for a in tys["K8sObjectID"].attributes} == {"name", "kind", "namespace", "group"}
    assert [a.name for a in tys["git.Repo"].attributes] == ["paths"]
    assert tys["StructuredDataType"].alias_of == "Union[Dict[str, Any], List[Any]]"
    # 27 from the stub plus the run-time-only UIChoiceInputSpec.
    assert sum(1 for n in tys if n.startswith("v1alpha1.")) == 28
    assert tys["v1alpha1.Probe"].module == "v1alpha1"


def test_common_functions_have_examples() -> None:
    for qualname in (
        "docker_build",
        "custom_build",
        "k8s_yaml",
        "k8s_resource",
        "local_resource",
        "docker_compose",
        "dc_resource",
        "sync",
        "run",
        "fall_back_on",
        "initial_sync",
        "restart_container",
        "local",
        "read_file",
        "helm",
        "kustomize",
        "load_dynamic",
        "include",
        "port_forward",
        "link",
        "watch_file",
        "listdir",
        "decode_json",
        "decode_yaml",
        "encode_json",
        "encode_yaml",
        "filter_yaml",
        "trigger_mode",
        "allow_k8s_contexts",
        "default_registry",
        "struct",
        "fail",
        "warn",
        "live_update",
    ):
        example = _fn(qualname).example
        assert example, qualname
        assert qualname in example or qualname == "live_update", qualname


def test_runtime_name_differences_are_mentioned() -> None:
    def mentions(qualname: str, name: str) -> bool:
        return re.search(rf"`{name}=?`", _fn(qualname).doc) is not None

    assert mentions("read_file", "paths")
    assert mentions("watch_file", "paths")
    assert mentions("listdir", "dir")
    assert mentions("blob", "input")
    assert mentions("fall_back_on", "paths")
    assert mentions("kustomize", "paths")
    assert mentions("helm", "paths")
    assert mentions("read_json", "paths")
    assert mentions("enable_feature", "msg")
    assert mentions("workload_to_resource_function", "func")
    assert mentions("k8s_kind", "image_object")
    assert mentions("docker_build", "cache")
    assert mentions("dc_resource", "image")
    assert "docker_build(" in _fn("live_update").doc


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("qualname", "present", "absent"),
    [
        ("read_file", {"paths", "default"}, {"file_path"}),
        ("watch_file", {"paths"}, {"file_path"}),
        ("listdir", {"dir", "recursive"}, {"directory"}),
        ("blob", {"input"}, {"contents"}),
        ("fall_back_on", {"paths"}, {"files"}),
        ("shlex.quote", {"name"}, {"s"}),
        ("kustomize", {"paths", "kustomize_bin", "flags"}, {"pathToDir"}),
        ("helm", {"paths", "name", "set"}, {"pathToChartDir"}),
        ("enable_feature", {"msg"}, {"feature_name"}),
        ("workload_to_resource_function", {"func"}, {"fn"}),
        ("k8s_kind", {"kind", "image_object", "image_json_path"}, {"image_object_json_path"}),
        ("os.unsetenv", {"key"}, {"value"}),
        ("v1alpha1.kubernetes_apply", {"apply_cmd", "delete_cmd"}, {"cmd"}),
    ],
)
def test_runtime_keywords_differences(qualname: str, present: set[str], absent: set[str]) -> None:
    keywords = catalog.runtime_keywords(_fn(qualname))
    assert present <= keywords
    assert not absent & keywords


def test_runtime_keywords_exact_sets() -> None:
    assert catalog.runtime_keywords(_fn("read_file")) == {"paths", "default"}
    assert catalog.runtime_keywords(_fn("listdir")) == {"dir", "recursive"}
    assert catalog.runtime_keywords(_fn("blob")) == {"input"}
    assert catalog.runtime_keywords(_fn("fall_back_on")) == {"paths"}
    assert catalog.runtime_keywords(_fn("shlex.quote")) == {"name"}
    assert catalog.runtime_keywords(_fn("initial_sync")) == frozenset()
    assert catalog.runtime_keywords(_fn("live_update")) == {"image", "steps"}
    # module(name, **kwargs): name is positional-only.
    assert catalog.runtime_keywords(_fn("module")) == frozenset()


def test_docker_build_accepts_cache() -> None:
    fn = _fn("docker_build")
    assert "cache" in catalog.runtime_keywords(fn)
    assert {"ref", "context", "live_update", "only"} <= catalog.runtime_keywords(fn)
    cache = fn.param("cache")
    assert cache is not None
    assert cache.runtime and cache.runtime_only and not cache.in_stub and cache.optional
    assert cache.kind == "keyword"
    assert fn.params[-1] is cache
    assert cache not in fn.stub_params
    dockerfile = next(r for r in fn.runtime_params if r.name == "dockerfile")
    assert dockerfile.none_means_unset


def test_renamed_params_are_linked() -> None:
    fn = _fn("read_file")
    file_path = fn.param("file_path")
    paths = fn.param("paths")
    assert file_path is not None and paths is not None
    assert not file_path.runtime and file_path.in_stub and file_path.renamed == "paths"
    assert paths.runtime and paths.runtime_only and paths.renamed == "file_path"
    assert paths.type == "str"
    assert [p.name for p in fn.stub_params] == ["file_path", "default"]


def test_accepts_any_keyword() -> None:
    assert catalog.accepts_any_keyword(_fn("struct"))
    assert catalog.accepts_any_keyword(_fn("module"))
    assert catalog.accepts_any_keyword(_fn("os.path.join"))
    assert catalog.accepts_any_keyword(_fn("k8s_context"))
    assert not catalog.accepts_any_keyword(_fn("docker_build"))
    assert not catalog.accepts_any_keyword(_fn("read_file"))


def test_param_flags() -> None:
    k8s_kind = _fn("k8s_kind")
    kinds = {p.name: p.kind for p in k8s_kind.stub_params}
    assert kinds["kind"] == "positional" and kinds["image_json_path"] == "keyword"
    join = _fn("os.path.join")
    assert [p.kind for p in join.params] == ["positional", "varargs"]
    local_resource = _fn("local_resource")
    cmd = local_resource.param("cmd")
    assert cmd is not None and not cmd.optional  # documented view
    assert next(r for r in local_resource.runtime_params if r.name == "cmd").optional
    custom_build = _fn("custom_build")
    bat_val = custom_build.param("command_bat_val")
    assert bat_val is not None and bat_val.deprecated
    container_args = custom_build.param("container_args")
    assert container_args is not None and container_args.runtime_only
    go_only = _fn("experimental_telemetry_cmd")
    assert go_only.go_only and go_only.url is None
    assert all(not p.in_stub for p in go_only.params)
    period = go_only.param("period")
    assert period is not None and period.optional and period.default == "..."


# --------------------------------------------------------------------------- rendering


def test_signature_label() -> None:
    label = catalog.signature_label(_fn("docker_build"))
    assert label.startswith(
        'docker_build(ref: str, context: str, build_args: Dict[str, str] = {}, dockerfile: str = "Dockerfile"'
    )
    assert label.endswith(") -> None")
    assert not re.search(r"\bcache\b(?!_)", label)
    assert "*, cache=..." in catalog.signature_label(_fn("docker_build"), include_runtime_only=True)
    assert catalog.signature_label(_fn("os.path.join")) == "os.path.join(path, *paths: str) -> str"
    assert catalog.signature_label(_fn("initial_sync")) == "initial_sync() -> LiveUpdateStep"
    assert catalog.signature_label(_fn("struct")) == "struct(**kwargs) -> Any"
    assert ", *, image_json_path" in catalog.signature_label(_fn("k8s_kind"))
    assert catalog.signature_label(_fn("filter_yaml")).endswith("-> Tuple[Blob, Blob]")
    assert (
        catalog.signature_label(_fn("live_update"))
        == "live_update(image: str, steps: List[LiveUpdateStep]) -> None"
    )
    assert catalog.signature_label(_fn("v1alpha1.cmd")).startswith("v1alpha1.cmd(name: str, ")


def test_snippet() -> None:
    assert catalog.snippet(_fn("docker_build")) == "docker_build(${1:ref}, ${2:context})"
    assert catalog.snippet(_fn("sync")) == "sync(${1:local_path}, ${2:remote_path})"
    assert catalog.snippet(_fn("k8s_resource")) == "k8s_resource($0)"
    assert catalog.snippet(_fn("initial_sync")) == "initial_sync()"
    assert catalog.snippet(_fn("os.path.join")) == "os.path.join(${1:path})"
    assert catalog.snippet(_fn("read_file")) == "read_file(${1:file_path})"
    # The stub's extra `value` would fail at run time, so it is not offered.
    assert catalog.snippet(_fn("os.unsetenv")) == "os.unsetenv(${1:key})"
    # Required at run time despite the documented default.
    assert catalog.snippet(_fn("secret_settings")) == "secret_settings(${1:disable_scrub})"
    for fn in catalog.functions().values():
        snip = catalog.snippet(fn)
        assert snip.startswith(fn.qualname + "(") and snip.endswith(")")
        stops = [int(n) for n in re.findall(r"\$\{(\d+):", snip)]
        assert stops == list(range(1, len(stops) + 1))


def test_markdown() -> None:
    md = catalog.markdown(_fn("docker_build"))
    assert md.startswith("```python\ndocker_build(ref: str, context: str,")
    assert _fn("docker_build").doc in md
    assert "**Parameters**" in md
    assert "- `ref`" in md and "- `cache` (run-time only)" in md
    assert "**Example**\n\n```python\ndocker_build(" in md
    assert md.endswith("(https://docs.tilt.dev/api.html#api.docker_build)")

    md = catalog.markdown(_fn("read_file"))
    assert "keyword at run time: `paths=`" in md

    md = catalog.markdown(_fn("os.path.join"))
    assert "https://docs.tilt.dev/api.html#modules.os.path.join" in md
    assert "https://docs.tilt.dev/api.html#modules.v1alpha1.cmd" in catalog.markdown(_fn("v1alpha1.cmd"))
    assert "https://docs.tilt.dev/api.html#modules.config.define_string" in catalog.markdown(
        _fn("config.define_string")
    )

    md = catalog.markdown(_fn("initial_sync"))
    assert "**Parameters**" not in md

    # Go-only builtins and the classic form have no online documentation to link to.
    assert "docs.tilt.dev" not in catalog.markdown(_fn("local_git_repo"))
    assert "docs.tilt.dev" not in catalog.markdown(_fn("live_update"))


def test_urls() -> None:
    assert _fn("k8s_yaml").url == "https://docs.tilt.dev/api.html#api.k8s_yaml"
    assert _fn("os.getenv").url == "https://docs.tilt.dev/api.html#modules.os.getenv"
    assert _fn("live_update").url is None
    assert _fn("test").url is None


def test_classic_live_update() -> None:
    fn = _fn("live_update")
    assert fn.classic and not fn.go_only and fn.module is None
    assert [p.name for p in fn.params] == ["image", "steps"]
    assert catalog.snippet(fn) == "live_update(${1:image}, ${2:steps})"


# --------------------------------------------------------------------------- modules


def test_modules() -> None:
    mods = catalog.modules()
    assert set(mods) == {"config", "os", "os.path", "shlex", "sys", "v1alpha1"}
    assert "os.path.join" in mods["os.path"]
    assert "os.path" in mods["os"]
    assert {"os.getenv", "os.environ", "os.name"} <= set(mods["os"])
    assert "os.path.join" not in mods["os"]
    assert {"config.define_string", "config.define_object", "config.main_dir", "config.parse"} <= set(
        mods["config"]
    )
    assert "v1alpha1.cmd" in mods["v1alpha1"]
    assert "v1alpha1.ui_choice_input_spec" in mods["v1alpha1"]
    assert mods["shlex"] == ["shlex.quote"]
    assert mods["sys"] == ["sys.argv", "sys.executable"]
    assert len(mods["v1alpha1"]) == 36
    for members in mods.values():
        assert members == sorted(members)
        for qualname in members:
            assert qualname in catalog.functions() or qualname in catalog.values() or qualname in mods


def test_catalog_is_cached_and_read_only() -> None:
    assert catalog.functions() is catalog.functions()
    with pytest.raises(TypeError):
        catalog.functions()["x"] = _fn("docker_build")  # type: ignore[index]
    fn = _fn("docker_build")
    with pytest.raises(AttributeError):
        fn.doc = "changed"  # type: ignore[misc]


def test_missing_module_docs_are_tolerated(monkeypatch: pytest.MonkeyPatch) -> None:
    real_read = catalog._read_json

    def fake_read(name: str) -> dict[str, Any] | None:
        return None if name == "docs_modules.json" else real_read(name)

    monkeypatch.setattr(catalog, "_read_json", fake_read)
    catalog._catalog.cache_clear()
    try:
        assert len(catalog.functions()) == 124
        assert _fn("docker_build").doc
        join = _fn("os.path.join")
        assert catalog.signature_label(join) == "os.path.join(path, *paths: str) -> str"
        assert catalog.markdown(join).startswith("```python\nos.path.join(")
    finally:
        monkeypatch.undo()
        catalog._catalog.cache_clear()
    assert catalog.functions()["docker_build"].doc
