"""Generate a large, realistic Tiltfile (used by the benchmarks)."""

from __future__ import annotations

import os


def generate(dest_dir: str, lines: int = 5000) -> str:
    """Write dest_dir/Tiltfile of about `lines` lines (plus the files it references); return its path."""
    os.makedirs(os.path.join(dest_dir, "k8s"), exist_ok=True)
    out: list[str] = [
        "# generated benchmark Tiltfile",
        "load('./lib.star', 'svc_name')",
        "config.define_string_list('to-run', args=True)",
        "cfg = config.parse()",
        "REGISTRY = os.getenv('REGISTRY', 'localhost:5000')",
        "allow_k8s_contexts(['kind-kind', 'docker-desktop'])",
        "",
    ]
    with open(os.path.join(dest_dir, "lib.star"), "w") as f:
        f.write("def svc_name(i):\n    return 'svc-%d' % i\n")
    i = 0
    while len(out) < lines:
        name = f"svc-{i}"
        ctx = f"services/{name}"
        os.makedirs(os.path.join(dest_dir, ctx, "src"), exist_ok=True)
        with open(os.path.join(dest_dir, ctx, "Dockerfile"), "w") as f:
            f.write("FROM scratch\n")
        with open(os.path.join(dest_dir, "k8s", f"{name}.yaml"), "w") as f:
            f.write(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n"
                f"    spec:\n      containers:\n      - name: app\n        image: example/{name}\n"
            )
        out += [
            f"def build_{i}(extra_args = {{}}):",
            f'    """Build and deploy service {i}."""',
            "    args = {'VERSION': '1.%d' % " + str(i) + "}",
            "    args.update(extra_args)",
            "    steps = [",
            f"        sync('./{ctx}/src', '/app/src'),",
            f"        run('make -C /app', trigger=['./{ctx}/src/Makefile']),",
            "    ]",
            f"    docker_build('example/{name}', '{ctx}', build_args=args, live_update=steps,",
            "                 ignore=['*.md', 'tmp/'])",
            f"    k8s_yaml('k8s/{name}.yaml')",
            f"    k8s_resource('{name}', port_forwards=[{8000 + i}], labels=['backend', 'group-%d' % ({i} % 5)],",
            "                 resource_deps=[] if " + str(i) + " == 0 else ['svc-0'])",
            "",
            f"build_{i}({{'DEBUG': str({i} % 2 == 0)}})",
            f"local_resource('lint-{i}', cmd='make lint SERVICE={name}', deps=['{ctx}/src'],",
            "               trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False, labels=['lint'])",
            f"names_{i} = [svc_name(j) for j in range({i % 7 + 1}) if j % 2 == 0]",
            f"if len(names_{i}) > 2:",
            f"    print('service {i} has %d peers' % len(names_{i}))",
            "",
        ]
        i += 1
    path = os.path.join(dest_dir, "Tiltfile")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path
