import time


def run_job(kind: str, payload: dict) -> str:
    time.sleep(1)
    return f"{kind} done with {len(payload)} fields"
