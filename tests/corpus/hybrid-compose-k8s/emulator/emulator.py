"""A toy queue emulator: POST /queues/<name> enqueues, GET dequeues."""
import collections
import http.server
import json

QUEUES = collections.defaultdict(collections.deque)


class Handler(http.server.BaseHTTPRequestHandler):
    def _queue(self):
        return QUEUES[self.path.rsplit("/", 1)[-1]]

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self._queue().append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(202)
        self.end_headers()

    def do_GET(self):
        q = self._queue()
        body = json.dumps(q.popleft() if q else None).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("", 4566), Handler).serve_forever()
