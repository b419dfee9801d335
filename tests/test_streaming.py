"""Features of a memory-mapped recording, chunk by chunk, equal those of all windows at once."""

import numpy as np
import pytest

from bmelearn.errors import DataError
from bmelearn.features import FeatureExtractor
from bmelearn.io import map_npy
from bmelearn.recording import Recording, RecordingSet
from bmelearn.streaming import stream_features, window_chunks
from bmelearn.windowing import cut_windows


@pytest.fixture
def recording(tmp_path):
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((6, 10_037)) * np.linspace(0.5, 2, 10_037)).astype(np.float32)
    np.save(tmp_path / "hd.npy", data)
    return tmp_path / "hd.npy", data


def test_chunked_features_equal_all_at_once(recording):
    path, data = recording
    signal = map_npy(path)
    assert isinstance(signal, np.memmap)
    fs, length, step = 2000.0, 0.2, 0.05
    names = [f"EMG{i}" for i in range(6)]
    chunks = list(window_chunks(signal, fs, length, step, chunk_bytes=8 * 6 * 400 * 7))  # 7 windows a chunk
    assert [len(c) for c in chunks[:2]] == [7, 7] and len(chunks) == -(-97 // 7)
    streamed, columns = stream_features(signal, fs, length, step, ["HTD", "RMS", "AR"], names, chunk_bytes=8 * 6 * 400 * 7)
    rec = Recording(data, fs, tuple(names), ("emg",) * 6, (), "emg", {"trial": "t", "label": "a"})
    windows = cut_windows(RecordingSet([rec]), length, step)
    reference = FeatureExtractor(["HTD", "RMS", "AR"], fs=fs, ch_names=names).fit(windows.X)
    assert streamed.shape == (97, 6 * 9)
    np.testing.assert_allclose(streamed, reference.transform(windows.X), rtol=1e-12, atol=1e-12)
    assert columns == list(reference.get_feature_names_out())


def test_bad_recordings_are_named(tmp_path):
    np.save(tmp_path / "ints.npy", np.zeros((3, 100), dtype=np.int16))
    with pytest.raises(DataError, match="ints.npy: a recording is a 2-D float array"):
        map_npy(tmp_path / "ints.npy")
    (tmp_path / "text.npy").write_text("not numpy")
    with pytest.raises(DataError, match="text.npy: not a readable .npy array"):
        map_npy(tmp_path / "text.npy")
    with pytest.raises(DataError, match="shorter than one 0.2 s window"):
        stream_features(np.zeros((2, 100)), 1000.0, 0.2, 0.1, ["MAV"])
