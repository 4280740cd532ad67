"""The Jobs pages: ``GET /jobs`` (each scheduled job, its last runs, its next run) and ``GET /runs/{job_id}``.

Like every page: a viewer token is needed, each view is audited before
anything is answered (kind ``jobs`` with the number of jobs; kind ``run``
with query ``run:<job id>`` and 1 or 0), the HTML page has a JSON twin at the
same URL, and everything shown is escaped (Jinja2 autoescape).  The jobs come
from the ``schedules_file`` setting (default ``<config_dir>/schedules.yml``), read at each request, so the page shows
the file as it is now; a broken file is a 503 that names the file and line.
An unknown run is a 404.

Public API: :data:`router`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from search.api.context import audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.es_steps import run_async
from search.job_runs import jobs_overview_steps, run_detail_steps

router = APIRouter(tags=["jobs"])
RUNS_PER_JOB = 10


@router.get("/jobs", summary="Scheduled jobs: their last runs and next run")
async def jobs_page(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    from crawler.schedules import ScheduleError, load_schedule, schedules_path

    context = context_of(request)
    try:
        schedule = load_schedule(schedules_path(context.settings.schedules_file, context.settings.config_dir))
    except ScheduleError as exc:
        audit(request, who, query="", kind="jobs", result_count=0)
        return respond(request, "error.html", {"error": f"the schedules file cannot be used: {exc}", "status": 503}, 503)
    now = datetime.now(timezone.utc)
    jobs = await run_async(context.async_client(), jobs_overview_steps(context.index_prefix, schedule, now, RUNS_PER_JOB))
    audit(request, who, query="", kind="jobs", result_count=len(jobs))
    return respond(request, "jobs.html", {"schedules": str(schedule.path), "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                          "jobs": jobs})


@router.get("/runs/{job_id}", summary="One run of a crawl job: outcome, figures, errors by type, Scrapy's stats")
async def run_page(request: Request, job_id: str = Path(..., max_length=256),
                   who: TokenRecord = Depends(viewer)) -> Response:
    context = context_of(request)
    run = await run_async(context.async_client(), run_detail_steps(context.index_prefix, job_id))
    audit(request, who, query=f"run:{job_id}", kind="run", result_count=0 if run is None else 1)
    if run is None:
        return respond(request, "error.html", {"error": "no run with this job id", "status": 404}, 404)
    return respond(request, "run.html", {"run": run})
