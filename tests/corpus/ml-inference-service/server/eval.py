"""Batch evaluation: score a small labelled set against the running server."""
import json
import os
import urllib.request

SAMPLES = [("I love this", "POSITIVE"), ("This is awful", "NEGATIVE"), ("Not bad at all", "POSITIVE")]


def main():
    url = os.environ.get("PREDICT_URL", "http://sentiment-server:8500/predict")
    body = json.dumps({"texts": [t for t, _ in SAMPLES]}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    preds = json.load(urllib.request.urlopen(req))["predictions"]
    correct = sum(1 for (_, want), got in zip(SAMPLES, preds) if got["label"] == want)
    print(f"accuracy={correct / len(SAMPLES):.2f} image={os.environ.get('SERVER_IMAGE')}")


if __name__ == "__main__":
    main()
