def handle(path):
    return {"lat": 38.72, "lon": -9.14, "query": path}
