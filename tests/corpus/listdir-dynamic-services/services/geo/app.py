import http.server
import json
import os

from logic import handle


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(handle(self.path)).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("", int(os.environ.get("PORT", "8201"))), Handler).serve_forever()
