def handle(path):
    return {"eta_minutes": 17, "query": path}
