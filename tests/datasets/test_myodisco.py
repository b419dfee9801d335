"""The MyoDisCo loader: its layout, sessions and classes on a simulated folder, the crop of each
repetition to its active part, and, on the real subjects S1-S7, LibEMG's published pipeline
reproduced subject by subject (cross-day and limb position)."""

from __future__ import annotations

import numpy as np
import pytest

from bmelearn.datasets import load_dataset
from bmelearn.datasets.myodisco import ALL_CLASSES, PUBLISHED, active_part
from bmelearn.errors import ConfigError, DataError
from bmelearn.signals.recording import Recording

#: LibEMG's own pipeline (HTD, LDA, 200 ms windows every 50 ms), per subject S1-S7, accuracy %
#: (../shared/data/README.md).
LIBEMG = {"cross_day": [87.9, 86.0, 85.3, 85.6, 84.4, 74.8, 82.7], "positions": [83.2, 90.5, 88.8, 86.3, 87.3, 79.4, 82.6]}


def _repetition(burst_at: int | None, n: int = 400, seed: int = 0) -> np.ndarray:
    """8 channels of low noise, with a 20-sample burst (50 times larger) starting at ``burst_at``:
    one MAV window (20 samples, stepped by 10) holds it whole when ``burst_at`` is a multiple of 10."""
    x = np.random.default_rng(seed).normal(0, 1, (8, n))
    if burst_at is not None:
        x[:, burst_at:burst_at + 20] *= 50
    return np.round(x)


def _write(root, subject: int, folder: str, rep: int, label: int, data: np.ndarray) -> None:
    path = root / f"S{subject}" / folder / f"R_{rep}_C_{label}_EMG.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, data.T, fmt="%d", delimiter=",")


@pytest.mark.parametrize(("burst_at", "first"), [(200, 170), (0, 0), (380, 300), (10, 0), (330, 300)])
def test_a_gesture_is_cut_to_the_100_samples_around_its_peak_of_mav(burst_at, first):
    """The window of largest mean MAV ends at the peak; 50 samples either side, moved inside
    the repetition where they would overrun it (a burst at the start or the end)."""
    data = _repetition(burst_at)
    rec = Recording(data, 200.0, tuple(f"EMG{i}" for i in range(1, 9)), ("emg",) * 8, meta={"label": "flexion"})
    cut = active_part(rec)
    assert cut.n_samples == 100
    np.testing.assert_array_equal(cut.data, data[:, first:first + 100])
    rest = active_part(Recording(data, 200.0, rec.ch_names, rec.ch_types, meta={"label": "rest"}))
    np.testing.assert_array_equal(rest.data, data[:, 100:200])


def test_the_loader_reads_days_and_positions_with_the_published_classes(tmp_path):
    for label in range(10):
        for rep in range(2):
            _write(tmp_path, 1, "day1", rep, label, _repetition(150, seed=label))
            _write(tmp_path, 1, "day2", rep, label, _repetition(150, seed=label))
            for position in (1, 2):
                _write(tmp_path, 1, f"positions/{position}", rep, label, _repetition(150, seed=label))
    data = load_dataset("myodisco", path=str(tmp_path), sessions=["day1", "day2", "position1", "position2"])
    assert data.classes == list(PUBLISHED)
    assert {r.meta["label"] for r in data} == set(PUBLISHED)
    assert list(dict.fromkeys(r.meta["session"] for r in data)) == ["day1", "day2", "position1", "position2"]
    assert len({r.meta["trial"] for r in data}) == len(data) == 7 * 2 * 4  # trial ids unique across positions
    assert {r.n_samples for r in data} == {100}
    whole = load_dataset("myodisco", path=str(tmp_path), sessions=["day1"], crop=False, all_classes=True)
    assert whole.classes == list(ALL_CLASSES.values()) and {r.n_samples for r in whole} == {400}
    with pytest.raises(ConfigError, match=r"dataset\.sessions: \['day3'\] are not sessions of myodisco"):
        load_dataset("myodisco", path=str(tmp_path), sessions=["day3"])
    with pytest.raises(DataError, match=r"sessions \['position3'\]|position3"):
        load_dataset("myodisco", path=str(tmp_path), sessions=["day1", "position3"])


@pytest.mark.parametrize(("example", "protocol"), [("myodisco.yaml", "cross_day"), ("myodisco-positions.yaml", "positions")])
def test_libemg_s_published_pipeline_is_reproduced_subject_by_subject(shared_data, tmp_path, example, protocol):
    from pathlib import Path

    from bmelearn.runs.config import load_config
    from bmelearn.runs.experiment import run

    examples = Path(__file__).resolve().parents[2] / "examples"
    config = load_config(examples / example, [f"dataset.path={shared_data / 'myodisco'}", "evaluation.n_boot=100"])
    result = run(config, tmp_path / "run")
    per_subject = result.summary["cross_session"]["lda"]["accuracy"]["per_subject"]
    got = [100 * per_subject[str(s)]["value"] for s in range(1, 8)]
    np.testing.assert_allclose(got, LIBEMG[protocol], atol=0.05)  # the same to the published 0.1 point
