import http.server
import json
import os

FLAGS = json.load(open("/etc/flags/flags.json")) if os.path.exists("/etc/flags/flags.json") else {}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        payload = {"city": "Lisbon", "temp": 21, "units": os.environ.get("UNITS"), "flags": FLAGS}
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())


http.server.ThreadingHTTPServer(("", 8070), Handler).serve_forever()
