import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone

from bmelearn.errors import ConfigError, DataError
from bmelearn.features import FEATURES, GROUPS, FeatureExtractor, resolve
from bmelearn.windowing import cut_windows


def reference(name, w, threshold=0.0):
    """Plain per-window, per-sample textbook formulas (Hudgins et al. 1993)."""
    n = len(w)
    if name == "MAV":
        return sum(abs(v) for v in w) / n
    if name == "RMS":
        return (sum(v * v for v in w) / n) ** 0.5
    if name == "WL":
        return sum(abs(w[i + 1] - w[i]) for i in range(n - 1))
    if name == "ZC":
        return sum(1 for i in range(n - 1) if w[i] * w[i + 1] < 0 and abs(w[i] - w[i + 1]) >= threshold)
    if name == "SSC":
        return sum(1 for i in range(1, n - 1) if (w[i] - w[i - 1]) * (w[i] - w[i + 1]) >= threshold)
    raise KeyError(name)


@pytest.fixture(scope="module")
def real_windows(threedc_subject1):
    w = cut_windows(threedc_subject1.select(modalities="emg"), 0.2, 0.1)
    pick = np.random.default_rng(0).choice(len(w), 12, replace=False)
    return w.X[pick]


@pytest.mark.parametrize("name", ["MAV", "RMS", "WL", "ZC", "SSC"])
def test_features_match_textbook_formulas_on_real_3dc_windows(name, real_windows):
    got = FeatureExtractor([name], fs=1000).fit_transform(real_windows)
    expected = np.array([[reference(name, list(ch)) for ch in win] for win in real_windows])
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert got.shape == (12, 10)


@pytest.mark.parametrize("name,threshold", [("ZC", 20.0), ("SSC", 400.0)])
def test_thresholds_follow_the_definitions(name, threshold, real_windows):
    got = FeatureExtractor([name], fs=1000, params={name: {"threshold": threshold}}).fit_transform(real_windows)
    expected = np.array([[reference(name, list(ch), threshold) for ch in win] for win in real_windows])
    np.testing.assert_array_equal(got, expected)
    assert got.sum() < FeatureExtractor([name], fs=1000).fit_transform(real_windows).sum()


window_batches = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(3, 40)),
    elements=st.floats(-1e3, 1e3, allow_nan=False),
)


@settings(max_examples=60, deadline=None)
@given(window_batches, st.floats(0.01, 100))
def test_amplitude_features_scale_linearly_and_counts_are_scale_invariant(X, k):
    fe = FeatureExtractor(["HTD", "RMS"], fs=1000).fit(X)
    base, scaled = fe.transform(X), fe.transform(k * X)
    n = X.shape[1]
    names = fe.features_
    for i, name in enumerate(names):
        a, b = base[:, i * n : (i + 1) * n], scaled[:, i * n : (i + 1) * n]
        if name in ("MAV", "RMS", "WL"):
            np.testing.assert_allclose(b, k * a, rtol=1e-9, atol=1e-9)
        else:
            np.testing.assert_array_equal(a, b)
    assert base.shape == (X.shape[0], len(names) * n)


@pytest.mark.parametrize("value", [0.0, 3.5])
def test_constant_windows_give_finite_features(value):
    X = np.full((2, 3, 50), value)
    out = FeatureExtractor(["HTD", "RMS"], fs=1000).fit_transform(X)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:, 3:6], 0)  # no zero crossing in a constant window


def test_column_names_groups_and_sklearn_contract():
    fe = FeatureExtractor(["HTD"], fs=1000, ch_names=["EMG1", "EMG2"], prefix="emg:")
    assert clone(fe).get_params() == fe.get_params()
    fe.fit(np.zeros((1, 2, 10)))
    assert list(fe.get_feature_names_out()) == [
        f"emg:{f}_{c}" for f in ["MAV", "ZC", "SSC", "WL"] for c in ["EMG1", "EMG2"]
    ]
    assert resolve(["htd", "MAV", "RMS"]) == ["MAV", "ZC", "SSC", "WL", "RMS"]
    assert GROUPS["HTD"] == ("MAV", "ZC", "SSC", "WL")
    assert all(FEATURES[f].doc for f in FEATURES)


def test_bad_feature_requests_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown feature or group 'MAVV'"):
        FeatureExtractor(["MAVV"]).fit(np.zeros((1, 1, 10)))
    with pytest.raises(ConfigError, match="ZC has no parameter"):
        FeatureExtractor(["ZC"], params={"ZC": {"thresh": 1}}).fit_transform(np.zeros((1, 1, 10)))
    with pytest.raises(DataError, match="n_windows, n_channels, n_times"):
        FeatureExtractor(["MAV"]).fit(np.zeros((3, 10)))
    fe = FeatureExtractor(["MAV"]).fit(np.zeros((1, 2, 10)))
    with pytest.raises(DataError, match="fitted on 2 channels"):
        fe.transform(np.zeros((1, 3, 10)))
