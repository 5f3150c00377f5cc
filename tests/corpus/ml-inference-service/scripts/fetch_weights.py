"""Download model weights into ./model/<name> (run by the fetch-weights resource)."""
import json
import os
import pathlib

name = os.environ["MODEL_NAME"]
revision = os.environ["MODEL_REVISION"]
cfg = json.loads(pathlib.Path("model/config.json").read_text())
target = pathlib.Path("model") / name
target.mkdir(parents=True, exist_ok=True)
(target / "REVISION").write_text(revision + "\n")
print(f"prepared {target} at {revision} (max batch {cfg['models'][name]['max_batch']})")
