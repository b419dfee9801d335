"""Figures kept between reports: a report written again from the same data reads its figures
instead of drawing them (rendering is most of a report's time), and draws what changed."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from bmelearn.report import figures
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.signals.recording import Recording

STUDY = ["dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.0", "protocols=[cross_session]",
         "evaluation.n_boot=20", "models=[lda]"]


def _drawn(monkeypatch) -> list:
    """The figures rendered from now on (each a call of to_data_uri)."""
    calls = []
    real = figures.to_data_uri
    monkeypatch.setattr(figures, "to_data_uri", lambda fig: calls.append(fig) or real(fig))
    return calls


def test_a_report_written_again_reads_its_figures(tmp_path, monkeypatch):
    first = run(load_config(None, STUDY), tmp_path / "first")
    assert any((tmp_path / ".cache" / "figures").iterdir())
    drawn = _drawn(monkeypatch)
    second = run(load_config(None, STUDY), tmp_path / "second")
    assert drawn == []  # every figure read back
    images = [re.findall(r'src="(data:image/png;base64,[^"]+)"', (r.folder / "report.html").read_text()) for r in (first, second)]
    assert images[0] and images[0] == images[1]
    uncached = run(load_config(None, [*STUDY, "execution.cache=false"]), tmp_path / "alone" / "run")
    assert drawn and not (tmp_path / "alone" / ".cache").exists()
    assert re.findall(r'src="(data:image/png;base64,[^"]+)"', (uncached.folder / "report.html").read_text()) == images[0]


def test_other_data_draw_another_figure(tmp_path, monkeypatch):
    rec = Recording(np.sin(np.arange(3000) / 7)[None].repeat(2, 0), 1000.0, ("A", "B"), ("emg", "emg"))
    scores = pd.DataFrame({"lda": [0.8, 0.9]}, index=["1", "2"])
    drawn = _drawn(monkeypatch)
    with figures.figure_cache(tmp_path):
        signal, accuracy = figures.signal_figure(rec), figures.subject_accuracy_figure(scores)
        assert len(drawn) == 2
        assert figures.signal_figure(rec) == signal and figures.subject_accuracy_figure(scores) == accuracy
        assert len(drawn) == 2  # the same arguments: read back
        assert figures.signal_figure(rec.with_data(rec.data * 2)) != signal
        assert figures.subject_accuracy_figure(scores, chance=0.5) != accuracy
        assert len(drawn) == 4
    for entry in tmp_path.glob("*.npz"):
        entry.write_bytes(b"damaged")  # a damaged entry is drawn again, and kept anew
    with figures.figure_cache(tmp_path):
        assert figures.signal_figure(rec) == signal and figures.subject_accuracy_figure(scores) == accuracy
        assert len(drawn) == 6
        figures.signal_figure(rec)
    assert len(drawn) == 6
