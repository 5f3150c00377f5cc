import os

from bottle import Bottle, run, static_file, template

app = Bottle()
POSTS = [
    {"slug": "hello", "title": "Hello, Inkwell", "body": "First post!"},
    {"slug": "compose", "title": "Why compose", "body": "Because it is simple."},
]


@app.get("/")
def index():
    return template("templates/index.tpl", posts=POSTS)


@app.get("/static/<path:path>")
def static(path):
    return static_file(path, root="static")


if __name__ == "__main__":
    run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
