"""The runs and models under a runs folder, found by name only.

A run is a finished run folder (it has ``run.json``; a folder being written is hidden
``.NAME.partial`` and never listed). Every look-up goes through the listing, so no name
from a request becomes a path: a name that is not listed is :class:`NotFound`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from bmelearn.errors import DataError
from bmelearn.evaluation.protocols import headline_protocol, protocol_title
from bmelearn.evaluation.regression import REGRESSION_METRICS
from bmelearn.runs import folder as run_folder
from bmelearn.serving import DeployableModel, load_model
from bmelearn.web.schema import ModelCard

#: The metric a run is summed up by on the runs page (a regression: R²).
HEADLINE_METRIC = "balanced_accuracy"
REGRESSION_HEADLINE = "r2"


#: The keys every model card file holds (written by :func:`bmelearn.serving.save_model`).
CARD_KEYS = ("classes", "signals", "window")


class NotFound(LookupError):
    """No run or model of that name under the runs folder."""


class Score(BaseModel):
    """One metric of one pipeline in ``summary.json``: mean over subjects, interval, per subject."""

    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    per_subject: dict[str, dict[str, float | str | None]] = {}


#: ``summary.json``'s protocols: protocol -> pipeline -> metric -> score.
SUMMARY = TypeAdapter(dict[str, dict[str, dict[str, Score]]])


@dataclass
class Run:
    """One finished run folder: what the runs page and the API show of it."""

    id: str
    path: Path
    name: str
    dataset: str
    finished: str
    pipelines: list[str]
    protocols: list[str]
    models: list[str]
    summary: dict[str, Any] = field(repr=False)
    config: dict[str, Any] = field(repr=False)
    problem: str | None = None
    primary: str | None = None

    @property
    def regression(self) -> bool:
        """Whether the run learnt a continuous value (evaluation.task: regression)."""
        return (self.config.get("evaluation") or {}).get("task") == "regression"

    @property
    def headline(self) -> dict[str, Any] | None:
        """The best pipeline by balanced accuracy (a regression: R²), with its interval, under the protocol the run is
        summed up by (its ``primary`` protocol; for a run without one, the hardest:
        :func:`~bmelearn.evaluation.protocols.headline_protocol`), named with the question it answers."""
        protocol = headline_protocol(self.protocols, self.primary)
        if protocol is None:
            return None
        metric = REGRESSION_HEADLINE if self.regression else HEADLINE_METRIC
        scores = {p: m[metric] for p, m in self.summary.get(protocol, {}).items() if m.get(metric, {}).get("mean") is not None}
        if not scores:
            return None
        best = max(scores, key=lambda p: scores[p]["mean"])
        value = scores[best]
        return {"protocol": protocol, "label": protocol_title(protocol), "pipeline": best, "metric": metric,
                "mean": value["mean"], "ci_low": value.get("ci_low"), "ci_high": value.get("ci_high")}

    @property
    def shown(self) -> tuple[str, ...]:
        """The metrics the run's page shows: accuracy and balanced accuracy, or a regression's."""
        return tuple(REGRESSION_METRICS) if self.regression else ("accuracy", "balanced_accuracy")

    def metrics(self, names: tuple[str, ...] = ("accuracy", "balanced_accuracy", "ece", *REGRESSION_METRICS)
                ) -> list[dict[str, Any]]:
        """Mean over subjects of each metric with its interval, one row per protocol and pipeline."""
        rows = []
        for protocol, pipelines in self.summary.items():
            for pipeline, metrics in pipelines.items():
                row = {"run": self.id, "protocol": protocol, "pipeline": pipeline}
                for name in names:
                    if name in metrics:
                        row[name] = {k: metrics[name].get(k) for k in ("mean", "ci_low", "ci_high")}
                rows.append(row)
        return rows

    def per_subject(self, metric: str = HEADLINE_METRIC) -> pd.DataFrame:
        """Each subject's value and interval of ``metric``: run, protocol, pipeline, subject, value, ci_low, ci_high."""
        rows = [
            {"run": self.id, "protocol": protocol, "pipeline": pipeline, "subject": subject, **values}
            for protocol, pipelines in self.summary.items()
            for pipeline, metrics in pipelines.items() if metric in metrics
            for subject, values in metrics[metric].get("per_subject", {}).items()
        ]
        return pd.DataFrame(rows, columns=["run", "protocol", "pipeline", "subject", "value", "ci_low", "ci_high"])

    def results(self) -> pd.DataFrame:
        """The run's tidy results table (results.csv; subjects and classes as text, as written)."""
        table = run_folder.read_table(self.path, run_folder.RESULTS)
        return pd.DataFrame() if table is None else table


class Catalog:
    """The runs under ``root``, re-read when a run folder changes; saved models loaded once."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self._runs: dict[Path, tuple[float, Run]] = {}
        self._models: dict[Path, tuple[float, DeployableModel]] = {}
        self._lock = threading.Lock()

    def runs(self) -> list[Run]:
        """Every finished run, newest first."""
        found = []
        for folder in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            info = folder / run_folder.RUN
            if folder.name.startswith(".") or not info.is_file():
                continue
            found.append(self._fresh(self._runs, folder, info, _read_run))
        return sorted(found, key=lambda r: r.finished, reverse=True)

    def run(self, run_id: str) -> Run:
        """The run called ``run_id``; :class:`NotFound` for any other name."""
        for run in self.runs():
            if run.id == run_id:
                return run
        raise NotFound(f"no run {run_id!r}")

    def models(self) -> list[tuple[str, str]]:
        """Every saved model as (run, model), runs newest first."""
        return [(run.id, name) for run in self.runs() for name in run.models]

    def model_path(self, run_id: str, model: str) -> Path:
        return self._model_of(self.run(run_id), model)

    def card(self, run_id: str, model: str) -> ModelCard:
        """The model card (the JSON file written from the model, beside it), with the run and model names, and
        its validated accuracy, balanced accuracy and calibration error under each protocol with their intervals.
        A card that cannot be read or does not hold what :func:`~bmelearn.serving.save_model` writes is a
        :class:`~bmelearn.errors.DataError` saying so."""
        run = self.run(run_id)
        path = self._model_of(run, model).with_suffix(".json")
        where = f"the card of model {model!r} in run {run_id!r} ({path.name})"
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{where} is missing; run the experiment again to write the model and its card.") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"{where} cannot be read ({type(exc).__name__}); run the experiment again.") from None
        missing = [key for key in CARD_KEYS if key not in card] if isinstance(card, dict) else list(CARD_KEYS)
        if missing:
            raise DataError(f"{where} lacks {', '.join(missing)}; run the experiment again.")
        validated = {row["protocol"]: {k: v for k, v in row.items() if k not in ("run", "protocol", "pipeline")}
                     for row in run.metrics() if row["pipeline"] == model}
        try:
            return ModelCard.model_validate({**card, "run": run_id, "name": model, "validated": validated, "problem": None})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DataError(f"{where} is damaged: {'.'.join(map(str, first['loc']))}: {first['msg']}; run the "
                            "experiment again.") from None

    def cards(self) -> list[ModelCard]:
        """The card of every saved model, runs newest first; a model whose card is damaged is listed
        with only its names and the ``problem``."""
        cards = []
        for run_id, name in self.models():
            try:
                cards.append(self.card(run_id, name))
            except DataError as exc:
                cards.append(ModelCard(run=run_id, name=name, problem=str(exc)))
        return cards

    @staticmethod
    def _model_of(run: Run, model: str) -> Path:
        if model not in run.models:
            raise NotFound(f"no model {model!r} in run {run.id!r}")
        return run.path / run_folder.MODELS / f"{model}.skops"

    def model(self, run_id: str, model: str) -> DeployableModel:
        """The deployable model (loaded from its skops file only, once, and again when the file changes)."""
        path = self.model_path(run_id, model)
        return self._fresh(self._models, path, path, load_model)

    def _fresh(self, cache: dict[Path, tuple[float, Any]], key: Path, stamped: Path, read: Callable[[Path], Any]) -> Any:
        """``read(key)``, kept in ``cache`` until the modification time of ``stamped`` changes."""
        stamp = stamped.stat().st_mtime
        with self._lock:
            cached = cache.get(key)
        if cached is None or cached[0] != stamp:
            cached = (stamp, read(key))
            with self._lock:
                cache[key] = cached
        return cached[1]


def _read_run(folder: Path) -> Run:
    """The run in ``folder``; one whose files are damaged is kept, with no results and a ``problem``."""
    info = _json(folder / run_folder.RUN)
    summary = _json(folder / run_folder.SUMMARY)
    config = _yaml(folder / run_folder.CONFIG)
    protocols, problem = summary.get(run_folder.SUMMARY_PROTOCOLS, {}), None
    try:
        SUMMARY.validate_python(protocols)
    except ValidationError as exc:
        first = exc.errors()[0]
        protocols = {}
        problem = (f"{run_folder.SUMMARY} is damaged ({'.'.join(map(str, first['loc']))}: {first['msg']}); "
                   "its results cannot be shown.")
    models_dir = folder / run_folder.MODELS
    primary = summary.get(run_folder.SUMMARY_PRIMARY)
    return Run(
        id=folder.name,
        path=folder,
        name=str(info.get(run_folder.RUN_NAME, folder.name)),
        dataset=str(summary.get(run_folder.SUMMARY_DATASET, _dataset_name(config))),
        finished=str(info.get(run_folder.RUN_FINISHED, "")),
        pipelines=list(dict.fromkeys(p for pipelines in protocols.values() for p in pipelines)),
        protocols=list(protocols),
        models=sorted(p.stem for p in models_dir.glob("*.skops")) if models_dir.is_dir() else [],
        summary=protocols,
        config=config,
        problem=problem,
        primary=primary if isinstance(primary, str) else None,
    )


def _dataset_name(config: dict[str, Any]) -> str:
    dataset = config.get("dataset")
    return str(dataset.get("name", "")) if isinstance(dataset, dict) else ""


def _json(path: Path) -> dict[str, Any]:
    """The mapping in a JSON file; empty when it is missing, unreadable or not a mapping."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file; empty when it is missing, unreadable or not a mapping."""
    try:
        found = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return {}
    return found if isinstance(found, dict) else {}
