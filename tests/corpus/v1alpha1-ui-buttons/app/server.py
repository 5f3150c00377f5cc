import os

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
DSN = os.environ.get("DATABASE_URL", "postgresql://bookmarks:bookmarks@postgres/bookmarks")


@app.get("/bookmarks")
def list_bookmarks():
    with psycopg.connect(DSN) as conn:
        rows = conn.execute("SELECT url, title FROM bookmarks ORDER BY id DESC").fetchall()
    return jsonify([{"url": u, "title": t} for u, t in rows])


@app.post("/bookmarks")
def add_bookmark():
    data = request.get_json(force=True)
    with psycopg.connect(DSN) as conn:
        conn.execute("INSERT INTO bookmarks (url, title) VALUES (%s, %s)", (data["url"], data.get("title", "")))
    return "", 201
