"""The server-rendered pages: runs, comparison, models, prediction."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Annotated, Any

import jinja2
import pandas as pd
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from bmelearn.errors import BmeError
from bmelearn.evaluation.regression import REGRESSION_METRICS
from bmelearn.report.text import model_label, protocol_label
from bmelearn.serving import Upload, from_uploads
from bmelearn.serving.inputs import NAMED_SUFFIXES, TEXT_SUFFIXES
from bmelearn.web import plots
from bmelearn.web.api import catalog, found
from bmelearn.web.catalog import HEADLINE_METRIC, Run
from bmelearn.web.security import NONCE

log = logging.getLogger("bmelearn.web")
router = APIRouter(include_in_schema=False)
templates = jinja2.Environment(loader=jinja2.PackageLoader("bmelearn.web", "templates"), autoescape=True)
templates.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}"
#: A score as its metric is read: a share in percent (its unit given by ``unit``), a regression's
#: metric in its own units.
templates.filters["score"] = lambda v, metric: ("–" if v is None else f"{v:.3g}" if metric in REGRESSION_METRICS
                                                else f"{100 * v:.1f}")
templates.filters["unit"] = lambda metric: "" if metric in REGRESSION_METRICS else "\u00a0%"
templates.filters["metric"] = lambda metric: (REGRESSION_METRICS[metric].metadata["label"] if metric in REGRESSION_METRICS
                                              else metric.replace("_", " "))
templates.filters["model"] = model_label  # LDA, random forest: the report's names
templates.filters["protocol"] = protocol_label


def score_name(calibrated: bool) -> str:
    """What a model's probability of its prediction is called on the pages: a calibrated
    probability, or a score that can look more certain than the model is."""
    return "probability (calibrated)" if calibrated else "score (not calibrated)"


templates.globals["score_name"] = score_name
templates.globals["text_suffixes"], templates.globals["named_suffixes"] = TEXT_SUFFIXES, NAMED_SUFFIXES

#: Orders the runs page offers.
SORTS = {"date": ("finished", True), "name": ("name", False), "dataset": ("dataset", False), "score": ("score", True)}


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` rendered, its scripts (the figures') marked with the request's nonce, which the
    Content-Security-Policy allows. Every ``<script`` in the output is the page's own: values are escaped
    (``<`` becomes ``&lt;``) and Plotly writes ``</`` as ``<\\/`` in a figure's data."""
    html = templates.get_template(name).render(**context)
    nonce = getattr(request.state, NONCE)
    return HTMLResponse(html.replace("<script", f'<script nonce="{nonce}"'), status)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/runs", 303)


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    return Response(plots.plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


#: The tab icon: a trace on the header's colour (SVG).
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#17324d"/>'
        '<path d="M2 9h3l2-5 2 8 2-4h3" stroke="#fff" stroke-width="1.5" fill="none"/></svg>')


@router.get("/favicon.ico")
def icon() -> Response:
    return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/runs")
def runs_page(request: Request, q: str = "", sort: str = "date") -> HTMLResponse:
    runs = catalog(request).runs()
    if q:
        needle = q.lower()
        runs = [r for r in runs if needle in " ".join([r.id, r.name, r.dataset, *r.pipelines, *r.protocols]).lower()]
    key, reverse = SORTS.get(sort, SORTS["date"])
    runs.sort(key=lambda r: _sort_value(r, key), reverse=reverse)
    return page(request, "runs.html", runs=runs, q=q, sort=sort, sorts=list(SORTS))


def _sort_value(run: Run, key: str) -> Any:
    if key == "score":
        return run.headline["mean"] if run.headline else -1.0
    return getattr(run, key).lower()


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str) -> HTMLResponse:
    run = found(catalog(request).run, run_id)
    return page(request, "run.html", run=run, has_report=(run.path / "report.html").is_file())


@router.get("/runs/{run_id}/report")
def report(request: Request, run_id: str) -> FileResponse:
    run = found(catalog(request).run, run_id)
    path = run.path / "report.html"
    if not path.is_file():
        raise HTTPException(404, "this run has no report")
    return FileResponse(path, media_type="text/html")


@router.get("/compare")
def compare(request: Request, run: Annotated[list[str] | None, Query()] = None, metric: str = HEADLINE_METRIC) -> Response:
    chosen = [found(catalog(request).run, r) for r in dict.fromkeys(run or [])]
    if not chosen:
        return RedirectResponse("/runs", 303)
    rows = [row for r in chosen for row in r.metrics()]
    subjects = pd.concat([r.per_subject(metric) for r in chosen], ignore_index=True)
    figure = plots.per_subject(subjects, metric) if len(subjects) else ""
    return page(request, "compare.html", runs=chosen, rows=rows, figure=figure, metric=metric)


@router.get("/docs")
def api_page(request: Request) -> HTMLResponse:
    """The JSON API's operations, from its OpenAPI description (served with no external script)."""
    spec = request.app.openapi()
    operations = [(method.upper(), path, operation.get("summary", ""))
                  for path, methods in spec["paths"].items() for method, operation in methods.items()]
    return page(request, "api.html", operations=operations, description=spec["info"].get("description", ""))


@router.get("/models")
def models_page(request: Request) -> HTMLResponse:
    return page(request, "models.html", cards=catalog(request).cards())


@router.get("/models/{run_id}/{model}")
def model_page(request: Request, run_id: str, model: str) -> HTMLResponse:
    card = found(catalog(request).card, run_id, model)
    shown = found(catalog(request).run, run_id).shown
    return page(request, "model.html", card=card, shown=(*shown, "ece") if "accuracy" in shown else shown)


@router.get("/predict")
def predict_form(request: Request, model: str = "") -> HTMLResponse:
    cat = catalog(request)
    card = found(cat.card, *model.partition("/")[::2]) if model else None
    return page(request, "predict.html", choices=_choices(cat), chosen=model, card=card, error=None,
                limit=request.app.state.max_upload)


def _choices(cat) -> list[str]:
    """The models a prediction can use (not those whose card is damaged), as RUN/MODEL."""
    return [f"{card.run}/{card.name}" for card in cat.cards() if card.problem is None]


@router.post("/predict")
async def predict_submit(request: Request, model: Annotated[str, Form()]) -> Response:
    """Check the uploaded files against the model at once; predict in a worker thread."""
    cat = catalog(request)
    run_id, _, name = model.partition("/")
    fitted = found(cat.model, run_id, name)
    card = found(cat.card, run_id, name)
    form = await request.form()
    uploads = []
    try:
        for modality, signal in fitted.signal.inputs.items():
            upload = form.get(f"file_{modality}")
            if isinstance(upload, UploadFile) and upload.filename:
                fs = _number(form.get(f"fs_{modality}"), signal.fs)
                uploads.append(Upload(await upload.read(), upload.filename, modality, fs))
        if not uploads:
            raise BmeError("choose a recording file to upload.")
        recordings = await run_in_threadpool(from_uploads, fitted.signal, uploads)
        fitted.signal.check(recordings)  # a mismatch is answered at once, not by the job
    except (BmeError, ValueError) as exc:
        return page(request, "predict.html", 422, choices=_choices(cat), chosen=model, card=card, error=str(exc),
                    limit=request.app.state.max_upload)
    job = request.app.state.jobs.submit(
        (run_id, name), lambda progress: fitted.predict(recordings, progress),
        {"recordings": recordings, "files": [u.filename for u in uploads], "classes": [str(c) for c in fitted.estimator.classes_],
         "calibrated": fitted.calibrated})
    log.info("prediction job started with %s", model)
    return RedirectResponse(f"/jobs/{job.id}", 303)


def _number(value: Any, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else float(default)
    except (TypeError, ValueError):
        raise BmeError(f"sampling rate {value!r} is not a number of Hz.") from None


def _job(request: Request, job_id: str):
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, "no such prediction (they are kept for 30 minutes)")
    return job


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str) -> HTMLResponse:
    job = _job(request, job_id)
    state = job.state  # read once: the worker thread may finish while the page renders
    context: dict[str, Any] = {"job": job, "state": state, "model": "/".join(job.model), "files": job.context["files"],
                               "calibrated": job.context["calibrated"], "score": score_name(job.context["calibrated"])}
    if state == "done":
        table = job.result
        recording = next(iter(job.context["recordings"].values()))
        context |= {
            "figure": plots.prediction_timeline(recording, table, job.context["classes"], context["score"]),
            "counts": table["predicted"].value_counts().to_dict(),
            "rows": table.head(500).to_dict(orient="records"),
            "n_windows": len(table),
        }
    return page(request, "job.html", 422 if state == "failed" else 200, **context)


@router.get("/jobs/{job_id}/predictions.csv")
def job_csv(request: Request, job_id: str) -> Response:
    job = _job(request, job_id)
    if job.state != "done":
        raise HTTPException(404, "the prediction has not finished")
    buffer = io.StringIO()
    job.result.to_csv(buffer, index=False)
    name = Path(job.context["files"][0]).stem if job.context["files"] else "recording"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:80]
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="predictions-{safe}.csv"'})
