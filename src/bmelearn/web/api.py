"""The JSON API, version 1 (``/api/v1``): runs, their results, models, and predictions."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from bmelearn.errors import BmeError
from bmelearn.serving import Upload, from_arrays, from_uploads
from bmelearn.web.catalog import Catalog, NotFound, Run
from bmelearn.web.schema import ArrayRequest, ModelCard, Prediction, RunDetail, RunSummary, WindowPrediction

log = logging.getLogger("bmelearn.web")
router = APIRouter(prefix="/api/v1", tags=["v1"])

NOT_FOUND = {404: {"description": "No run or model of that name."}}
DAMAGED = {422: {"description": "The model's card or file is damaged (the detail says how)."}}
UNUSABLE = {422: {"description": "The recording does not fit the model (channels, sampling rate, length) or cannot be read."},
            413: {"description": "The request is larger than the server's limit (bmelearn serve --max-upload-mb)."}}


def catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def run_summary(run: Run) -> RunSummary:
    return RunSummary(id=run.id, name=run.name, dataset=run.dataset, finished=run.finished, pipelines=run.pipelines,
                      protocols=run.protocols, models=run.models, headline=run.headline, problem=run.problem)


def found(call, *args):
    """``call(*args)``: a name that the catalog does not list is answered by 404, a model file
    that cannot be used (one written by an older bmelearn, say) by 422 saying why."""
    try:
        return call(*args)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except BmeError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/runs", response_model=list[RunSummary], summary="List the finished runs, newest first")
def list_runs(request: Request) -> list[RunSummary]:
    return [run_summary(run) for run in catalog(request).runs()]


@router.get("/runs/{run_id}", response_model=RunDetail, responses=NOT_FOUND, summary="One run: its metrics and config")
def get_run(request: Request, run_id: str) -> RunDetail:
    run = found(catalog(request).run, run_id)
    return RunDetail(**run_summary(run).model_dump(), metrics=run.metrics(), config=run.config)


@router.get("/runs/{run_id}/results", responses=NOT_FOUND, summary="A run's tidy results table, one row per value")
def get_results(request: Request, run_id: str,
                metric: Annotated[str | None, Query(description="Keep only this metric (e.g. accuracy).")] = None,
                ) -> list[dict[str, Any]]:
    table = found(catalog(request).run, run_id).results()
    if metric is not None and "metric" in table:
        table = table[table["metric"] == metric]
    return _records(table)


@router.get("/models", response_model=list[ModelCard], summary="List the saved models of every run, with their cards "
            "(a model whose card is damaged has only its names and the problem)")
def list_models(request: Request) -> list[ModelCard]:
    return catalog(request).cards()


@router.get("/models/{run_id}/{model}", response_model=ModelCard, responses=NOT_FOUND | DAMAGED, summary="One model's card")
def get_model(request: Request, run_id: str, model: str) -> ModelCard:
    return found(catalog(request).card, run_id, model)


@router.post("/models/{run_id}/{model}/predict", response_model=Prediction, responses=NOT_FOUND | UNUSABLE,
             summary="Predict every window of an uploaded recording")
async def predict_upload(
    request: Request, run_id: str, model: str,
    files: Annotated[list[UploadFile], File(description="Numeric text files (.txt, .csv, .tsv, .dat), one sample per "
                                                        "line, one column per channel, or EDF/BDF, C3D, XDF or TRC files; one file per "
                                                        "signal.")],
    modality: Annotated[list[str] | None, Form(description="The signal each file holds, in order (omit for a model "
                                                           "of one signal).")] = None,
    fs: Annotated[list[float] | None, Form(description="Each file's sampling rate (Hz), in order (omit: the model's).")] = None,
) -> Prediction:
    uploads = [Upload(await f.read(), f.filename or "upload.txt",
                      modality[i] if modality and i < len(modality) else None,
                      fs[i] if fs and i < len(fs) else None) for i, f in enumerate(files)]
    return await run_in_threadpool(_predict, catalog(request), run_id, model, lambda fitted: from_uploads(fitted.signal, uploads))


@router.post("/models/{run_id}/{model}/predict-array", response_model=Prediction, responses=NOT_FOUND | UNUSABLE,
             summary="Predict every window of a recording sent as arrays")
def predict_array(request: Request, run_id: str, model: str, body: ArrayRequest) -> Prediction:
    signals = {m: s.model_dump() for m, s in body.signals.items()}
    return _predict(catalog(request), run_id, model, lambda fitted: from_arrays(fitted.signal, signals))


def _predict(cat: Catalog, run_id: str, model: str, recordings) -> Prediction:
    fitted = found(cat.model, run_id, model)
    if fitted.regression:
        raise HTTPException(422, f"{run_id}/{model} predicts a continuous value; the prediction service takes classifiers. "
                                 "Use bmelearn predict for it.")
    started = time.perf_counter()
    try:
        table = fitted.predict(recordings(fitted))
    except BmeError as exc:
        log.info("prediction refused: %s/%s (%s)", run_id, model, type(exc).__name__)
        raise HTTPException(422, str(exc)) from None
    seconds = time.perf_counter() - started
    log.info("predicted %d windows with %s/%s in %.3f s", len(table), run_id, model, seconds)
    return Prediction(run=run_id, model=model, classes=[str(c) for c in fitted.estimator.classes_], n_windows=len(table),
                      seconds=seconds, calibrated=fitted.calibrated, windows=window_predictions(table))


def window_predictions(table: pd.DataFrame) -> list[WindowPrediction]:
    probabilities = table[[c for c in table.columns if c.startswith("p:")]]
    names = [c[2:] for c in probabilities.columns]
    return [WindowPrediction(window=int(w), start=float(s), end=float(e), predicted=str(p), confidence=float(c),
                             probabilities=dict(zip(names, map(float, row), strict=True)))
            for w, s, e, p, c, row in zip(table["window"], table["start"], table["end"], table["predicted"],
                                          table["confidence"], probabilities.to_numpy(), strict=True)]


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (missing values as null)."""
    return table.astype(object).where(pd.notna(table), None).to_dict(orient="records") if len(table) else []

