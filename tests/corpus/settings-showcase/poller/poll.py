import json
import pathlib
import time

import requests

TARGETS = [t.strip() for t in pathlib.Path("targets.txt").read_text().splitlines() if t.strip()]
OUT = pathlib.Path("/var/run/status/state.json")

while True:
    state = {}
    for url in TARGETS:
        try:
            state[url] = requests.get(url, timeout=3).ok
        except requests.RequestException:
            state[url] = False
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(state))
    time.sleep(15)
