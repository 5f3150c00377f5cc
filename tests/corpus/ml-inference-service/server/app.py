import os

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="sentiment")
MODEL_NAME = os.environ.get("MODEL_NAME", "distil-sst2")
_pipeline = None


class Request(BaseModel):
    texts: list[str]


def pipeline():
    global _pipeline
    if _pipeline is None:
        from transformers import pipeline as hf_pipeline

        _pipeline = hf_pipeline("sentiment-analysis", model=os.path.join("/opt/model", MODEL_NAME))
    return _pipeline


@app.get("/healthz")
def healthz():
    return {"model": MODEL_NAME}


@app.post("/predict")
def predict(req: Request):
    return {"predictions": pipeline()(req.texts)}
