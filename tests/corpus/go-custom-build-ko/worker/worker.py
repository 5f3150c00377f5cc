import os
import time

import requests

API = os.environ.get("HELLO_API", "http://hello-api:8080")

while True:
    try:
        print(requests.get(f"{API}/hello", params={"name": "worker"}, timeout=3).text.strip())
    except requests.RequestException as err:
        print("api not ready:", err)
    time.sleep(10)
