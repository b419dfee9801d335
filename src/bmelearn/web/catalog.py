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

from bmelearn.runs import folder as run_folder
from bmelearn.serving import DeployableModel, load_model

#: The metric a run is summed up by on the runs page.
HEADLINE_METRIC = "balanced_accuracy"


class NotFound(LookupError):
    """No run or model of that name under the runs folder."""


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

    @property
    def headline(self) -> dict[str, Any] | None:
        """The best pipeline under the first protocol by balanced accuracy, with its interval."""
        if not self.protocols:
            return None
        protocol = self.protocols[0]
        scores = {p: m[HEADLINE_METRIC] for p, m in self.summary.get(protocol, {}).items() if HEADLINE_METRIC in m}
        if not scores:
            return None
        best = max(scores, key=lambda p: scores[p]["mean"])
        value = scores[best]
        return {"protocol": protocol, "pipeline": best, "metric": HEADLINE_METRIC,
                "mean": value["mean"], "ci_low": value.get("ci_low"), "ci_high": value.get("ci_high")}

    def metrics(self, names: tuple[str, ...] = ("accuracy", "balanced_accuracy")) -> list[dict[str, Any]]:
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
        """The run's tidy results table (results.csv)."""
        path = self.path / run_folder.RESULTS
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()


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

    def card(self, run_id: str, model: str) -> dict[str, Any]:
        """The model card (the JSON file written from the model, beside it), with the run and model names, and
        its validated accuracy and balanced accuracy under each protocol with their intervals."""
        run = self.run(run_id)
        path = self._model_of(run, model).with_suffix(".json")
        card = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        validated = {row["protocol"]: {k: v for k, v in row.items() if k not in ("run", "protocol", "pipeline")}
                     for row in run.metrics() if row["pipeline"] == model}
        return {**card, "run": run_id, "name": model, "validated": validated}

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
    info = _json(folder / run_folder.RUN)
    summary = _json(folder / run_folder.SUMMARY)
    config = _yaml(folder / run_folder.CONFIG)
    protocols = summary.get(run_folder.SUMMARY_PROTOCOLS, {})
    models_dir = folder / run_folder.MODELS
    return Run(
        id=folder.name,
        path=folder,
        name=str(info.get(run_folder.RUN_NAME, folder.name)),
        dataset=str(summary.get(run_folder.SUMMARY_DATASET, (config.get("dataset") or {}).get("name", ""))),
        finished=str(info.get(run_folder.RUN_FINISHED, "")),
        pipelines=list(dict.fromkeys(p for pipelines in protocols.values() for p in pipelines)),
        protocols=list(protocols),
        models=sorted(p.stem for p in models_dir.glob("*.skops")) if models_dir.is_dir() else [],
        summary=protocols,
        config=config,
    )


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _yaml(path: Path) -> dict[str, Any]:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
