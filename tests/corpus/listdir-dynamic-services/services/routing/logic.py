def handle(path):
    return {"route": ["depot", "stop-1", "stop-2"], "query": path}
