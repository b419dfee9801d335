"""What the JSON API answers and takes (pydantic models, the OpenAPI schema), and what a model
card file must hold to be shown."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Interval(BaseModel):
    mean: float
    ci_low: float | None = None
    ci_high: float | None = None


class Headline(Interval):
    protocol: str
    label: str = Field(description="The protocol and the question it answers, e.g. 'Leave-one-subject-out: a new patient'.")
    pipeline: str
    metric: str


class RunSummary(BaseModel):
    id: str
    name: str
    dataset: str
    finished: str = Field(description="When the run finished (ISO 8601, local time).")
    pipelines: list[str]
    protocols: list[str]
    models: list[str]
    headline: Headline | None = Field(description="Best pipeline by balanced accuracy (mean over subjects, with its "
                                                  "confidence interval) under the run's primary protocol "
                                                  "(evaluation.primary), else its hardest: a new patient (loso, "
                                                  "subject_kfold), then another day (cross_session), then the same "
                                                  "session (within_session).")
    problem: str | None = Field(default=None, description="Why the run's results cannot be shown (a damaged file); "
                                                          "null for a sound run.")


class MetricRow(BaseModel):
    protocol: str
    pipeline: str
    accuracy: Interval | None = None
    balanced_accuracy: Interval | None = None
    ece: Interval | None = Field(default=None, description="Expected calibration error of the probability of the "
                                                           "predicted class (0 is perfect; none without probabilities).")


class RunDetail(RunSummary):
    metrics: list[MetricRow]
    config: dict[str, Any]


class Signal(BaseModel):
    fs: float = Field(description="Sampling rate (Hz).")
    channels: list[str]
    types: list[str] | None = None
    excluded: list[str] = Field(default=[], description="Channels left out as bad; a recording may hold them or not.")


class Window(BaseModel):
    length: float = Field(description="Window length (s).")
    step: float = Field(description="Step between window starts (s).")
    whole: bool = Field(default=False, description="Whether each trial is one window.")


class ModelCard(BaseModel):
    """A saved model's card. A model whose card or file is damaged is listed with ``problem``
    saying why, and nothing else."""

    run: str
    name: str
    problem: str | None = Field(default=None, description="Why the model cannot be used; null for a sound model.")
    classes: list[str] = []
    signals: dict[str, Signal] = {}
    window: Window | None = None
    input: str | None = None
    preprocessing: list[dict[str, Any]] = []
    features: dict[str, list[str]] = {}
    training: dict[str, Any] = {}
    validated: dict[str, dict[str, Interval]] = Field(default={}, description="Accuracy, balanced accuracy and expected "
                                                      "calibration error (ece) of the pipeline under each protocol of its "
                                                      "run: mean over subjects and confidence interval.")
    training_seconds: float | None = None
    calibrated: bool = Field(default=False, description="Whether the model's probabilities are calibrated on held-out "
                                                        "training data (the model's calibrate option); if not, they are "
                                                        "scores that can look more certain than the model is.")
    bmelearn_version: str | None = None


class WindowPrediction(BaseModel):
    window: int
    start: float = Field(description="Start of the window (s from the start of the recording).")
    end: float
    predicted: str
    confidence: float = Field(description="The model's probability of the predicted class: a calibrated probability "
                                          "when the prediction is `calibrated`, else a score.")
    probabilities: dict[str, float]


class Prediction(BaseModel):
    run: str
    model: str
    classes: list[str]
    n_windows: int
    seconds: float = Field(description="Time the server took to predict (s).")
    calibrated: bool = Field(description="Whether the probabilities (confidence) are calibrated; if not, they are model "
                                         "scores, which can look more certain than the model is.")
    windows: list[WindowPrediction]


class SignalArray(BaseModel):
    fs: float = Field(gt=0, allow_inf_nan=False, description="Sampling rate (Hz).")
    channels: list[str] = Field(min_length=1)
    data: list[list[float]] = Field(min_length=1, description="One row of samples per channel.")


class ArrayRequest(BaseModel):
    signals: dict[str, SignalArray] = Field(description="The recording, by modality (e.g. 'emg').")
