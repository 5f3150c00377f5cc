import http.server
import json
import pathlib

from jinja2 import Template

TEMPLATE = Template(pathlib.Path("templates/index.html").read_text())
STATE = pathlib.Path("/var/run/status/state.json")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        checks = json.loads(STATE.read_text()) if STATE.exists() else {}
        body = TEMPLATE.render(checks=checks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
