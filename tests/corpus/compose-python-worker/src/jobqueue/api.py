import os

from fastapi import FastAPI
from redis import Redis
from rq import Queue

from jobqueue.models import Job
from jobqueue.tasks import run_job

app = FastAPI(title="jobqueue")
queue = Queue(connection=Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0")))


@app.post("/jobs")
def enqueue(job: Job):
    rq_job = queue.enqueue(run_job, job.kind.value, job.payload or {}, at_front=(job.priority or 0) > 5)
    return {"id": rq_job.id}
