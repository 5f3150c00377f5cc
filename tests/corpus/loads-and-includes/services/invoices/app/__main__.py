import http.server
import json
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"service": "invoices", "path": self.path}).encode())


http.server.ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
