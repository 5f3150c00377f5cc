import io

from flask import Flask, request, send_file
from PIL import Image

app = Flask(__name__)


@app.post("/resize")
def resize():
    width = int(request.args.get("w", "256"))
    img = Image.open(request.files["image"].stream)
    img.thumbnail((width, width))
    out = io.BytesIO()
    img.save(out, format="PNG")
    out.seek(0)
    return send_file(out, mimetype="image/png")


app.run(host="0.0.0.0", port=8080)
