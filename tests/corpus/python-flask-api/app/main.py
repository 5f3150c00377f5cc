import os

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
DSN = os.environ.get("DATABASE_URL", "postgresql://notes:notes@postgres:5432/notes")


def _conn():
    return psycopg.connect(DSN)


@app.get("/api/notes")
def list_notes():
    with _conn() as conn:
        rows = conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
    return jsonify([{"id": r[0], "body": r[1]} for r in rows])


@app.post("/api/notes")
def add_note():
    body = (request.get_json(silent=True) or {}).get("body", "")
    with _conn() as conn:
        row = conn.execute("INSERT INTO notes (body) VALUES (%s) RETURNING id", (body,)).fetchone()
    return jsonify({"id": row[0], "body": body}), 201


@app.get("/docs")
def docs():
    return jsonify({"endpoints": ["GET /api/notes", "POST /api/notes"]})


@app.cli.command("db-upgrade")
def db_upgrade():
    here = os.path.join(os.path.dirname(__file__), "migrations")
    with _conn() as conn:
        for name in sorted(os.listdir(here)):
            if name.endswith(".sql"):
                with open(os.path.join(here, name)) as fh:
                    conn.execute(fh.read())
