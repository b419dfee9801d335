import warnings
from pathlib import Path

import numpy as np
import pytest
import pywt
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation
from sklearn.base import clone

from bmelearn.errors import ConfigError, DataError
from bmelearn.features import (
    FEATURES,
    GROUPS,
    FeatureExtractor,
    catalogue,
    kernels,
    registry,
    resolve,
)
from bmelearn.signals.windowing import cut_windows
from tests.features import feature_reference as ref


@pytest.fixture(scope="module")
def real_windows(threedc_subject1):
    w = cut_windows(threedc_subject1.select(modalities="emg"), 0.2, 0.1)
    pick = np.random.default_rng(0).choice(len(w), 12, replace=False)
    return w.X[pick]


@pytest.fixture(scope="module")
def simulated_windows(simulated):
    """12 simulated EMG windows (8 channels at 1 kHz, in mV rather than 3DC's ADC units), of rest
    and of gestures: the reference comparisons run on these without the real recordings."""
    w = cut_windows(simulated.select(modalities="emg"), 0.2, 0.1)
    pick = np.random.default_rng(0).choice(len(w), 12, replace=False)
    return w.X[pick]


@pytest.fixture(scope="module", params=["simulated", "3dc"], ids=["simulated EMG", "real 3DC EMG"])
def emg_windows(request):
    """Simulated EMG windows (always) and real 3DC EMG windows (skipped without ../shared/data)."""
    return request.getfixturevalue("simulated_windows" if request.param == "simulated" else "real_windows")


@pytest.fixture(scope="module")
def real_quaternions(threedc_subject1):
    w = cut_windows(threedc_subject1.select(modalities="imu"), 0.5, 0.25)
    return w.X[np.random.default_rng(1).choice(len(w), 6, replace=False)], w.fs["imu"]


@pytest.fixture(scope="module")
def simulated_quaternions():
    """6 simulated IMU windows of orientation quaternions (w, x, y, z), 0.5 s at 50 Hz like 3DC's:
    a forearm turning steadily (0.2 to 3 rad/s) about a random axis from a random orientation,
    with sensor noise, off unit norm, and a fifth of the samples sign-flipped (q and -q are the
    same orientation)."""
    rng = np.random.default_rng(1)
    fs, t = 50.0, np.arange(25) / 50.0
    windows = []
    for _ in range(6):
        start = Rotation.from_quat(rng.standard_normal(4))
        axis = rng.standard_normal(3)
        turning = Rotation.from_rotvec(np.outer(rng.uniform(0.2, 3.0) * t, axis / np.linalg.norm(axis)))
        xyzw = (turning * start).as_quat()
        q = np.column_stack([xyzw[:, 3], xyzw[:, :3]]) + rng.normal(0.0, 2e-3, (len(t), 4))
        q *= rng.uniform(0.9, 1.1, (len(t), 1)) * np.where(rng.random((len(t), 1)) < 0.2, -1.0, 1.0)
        windows.append(q.T)
    return np.array(windows), fs


@pytest.fixture(scope="module", params=["simulated", "3dc"], ids=["simulated IMU", "real 3DC IMU"])
def quaternions(request):
    """Simulated quaternion windows (always) and real 3DC IMU windows (skipped without ../shared/data)."""
    return request.getfixturevalue("simulated_quaternions" if request.param == "simulated" else "real_quaternions")


SLOW = {"SAMPEN": 3, "FUZZYEN": 2, "LS": 4}  # O(N²) references: fewer windows
PER_CHANNEL = sorted(set(ref.CHANNEL) & set(FEATURES))


@pytest.mark.parametrize("name", PER_CHANNEL)
def test_every_feature_matches_its_textbook_formula_on_simulated_and_real_windows(name, emg_windows):
    """On simulated EMG windows, and on real 3DC windows where ../shared/data is."""
    X = emg_windows[: SLOW.get(name, len(emg_windows))]
    got = FeatureExtractor([name], fs=1000).fit_transform(X)
    # reference values per (window, channel), each a list of parts; columns are part-major
    expected = np.array([[np.atleast_1d(ref.CHANNEL[name](list(ch), 1000.0)) for ch in win] for win in X])
    expected = expected.transpose(0, 2, 1).reshape(len(X), -1)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=_atol(expected))
    assert np.isfinite(got).all()


def _atol(expected):
    """1e-9, or less for a feature whose values are all small (µV³ of simulated mV windows): the
    absolute tolerance is for values near zero, not for a whole feature at a small scale."""
    return 1e-9 * min(1.0, float(np.abs(expected).max()))


@pytest.mark.parametrize("name", sorted(ref.WINDOW))
def test_cross_channel_features_match_their_formulas(name, emg_windows):
    """On simulated EMG windows, and on real 3DC windows where ../shared/data is."""
    got = FeatureExtractor([name], fs=1000).fit_transform(emg_windows)
    expected = np.array([ref.WINDOW[name]([list(ch) for ch in win], 1000.0) for win in emg_windows])
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=_atol(expected))


@pytest.mark.parametrize("name", ["QEULER", "QROT", "QSPEED"])
def test_quaternion_features_match_scipy_rotations_on_simulated_and_real_imu(name, quaternions):
    """On simulated quaternion windows, and on real 3DC IMU windows where ../shared/data is."""
    X, fs = quaternions
    fe = FeatureExtractor([name], fs=fs, ch_names=["QW", "QX", "QY", "QZ"]).fit(X)
    expected = np.array([ref.quaternion_features(win, fs)[name] for win in X])
    np.testing.assert_allclose(fe.transform(X), expected, rtol=1e-7, atol=1e-9)
    assert all(c.startswith(name) for c in fe.get_feature_names_out())


def test_catalogue_is_complete_and_verified():
    """Every EMG feature the issue lists exists, is documented, and has a reference above."""
    listed = """MAV ZC SSC WL LS MFL MSR WAMP RMS IAV DASDV VAR M0 M2 M4 SPARSI IRF WLF AR CC LD MAVFD MAVSLP MDF
    MNF MNP MPK SKEW KURT RMSPHASOR WLPHASOR PAP MZP TM SM SAMPEN FUZZYEN DFTR ISD COR MDIFF MLK ACT MOB COMP WENG
    WV WWL WENT MEAN""".split()
    assert set(listed) <= set(FEATURES)
    verified = set(ref.CHANNEL) | set(ref.WINDOW) | {"QEULER", "QROT", "QSPEED"}
    assert set(FEATURES) <= verified
    assert all(len(FEATURES[f].doc) > 40 for f in FEATURES)
    for group in ["HTD", "TSTD", "DFTR", "ITD", "HJORTH", "LS4", "LS9", "TDPSD", "TDAR", "COMB", "MSWT"]:
        assert group in GROUPS
    assert GROUPS["LS9"] == ("LS", "MFL", "MSR", "WAMP", "ZC", "RMS", "IAV", "DASDV", "VAR")
    assert GROUPS["TDAR"] == ("MAV", "ZC", "SSC", "WL", "AR")


def test_ar_recovers_the_coefficients_of_a_known_process():
    rng = np.random.default_rng(0)
    a1, a2 = 1.3, -0.6  # a stable AR(2): x_n = 1.3 x_{n-1} - 0.6 x_{n-2} + e_n
    x = np.zeros((4, 1, 4000))
    e = rng.standard_normal(x.shape)
    for n in range(2, x.shape[-1]):
        x[..., n] = a1 * x[..., n - 1] + a2 * x[..., n - 2] + e[..., n]
    got = FeatureExtractor(["AR"], fs=1000, params={"AR": {"order": 2}}).fit_transform(x)
    np.testing.assert_allclose(got.mean(axis=0), [a1, a2], atol=0.03)


def test_thresholds_follow_the_definitions(emg_windows):
    """On simulated EMG windows (in mV) and real 3DC ones (ADC units): thresholds at the data's scale."""
    d = np.diff(emg_windows, axis=-1)
    slope = np.median(np.abs(d))
    turn = np.median(np.abs(d[..., :-1] * d[..., 1:]))
    for name, threshold in [("ZC", slope), ("SSC", turn), ("WAMP", 1.5 * slope)]:
        got = FeatureExtractor([name], fs=1000, params={name: {"threshold": threshold}}).fit_transform(emg_windows)
        base = FeatureExtractor([name], fs=1000, params={name: {"threshold": 0.0}}).fit_transform(emg_windows)
        if name == "ZC":
            x = emg_windows
            expected = ((x[..., :-1] * x[..., 1:] < 0) & (np.abs(d) >= threshold)).sum(-1)
        elif name == "SSC":
            expected = ((-d[..., :-1] * d[..., 1:]) >= threshold).sum(-1)
        else:
            expected = (np.abs(d) > threshold).sum(-1)
        np.testing.assert_array_equal(got, expected)
        assert 0 < got.sum() < base.sum()


# How each feature responds to scaling the signal by k: value(kx) = k^power · value(x)
SCALING = {f: 0 for f in FEATURES} | dict.fromkeys(
    ["MAV", "IAV", "RMS", "WL", "LS", "DASDV", "MAVFD", "MZP", "STD", "RANGE", "MIN", "MAX", "MPK", "MEAN", "LD",
     "PAP", "JERK", "MAVSLP"], 1
) | dict.fromkeys(["VAR", "ISD", "ACT", "ENERGY", "MNP", "MDIFF", "SM"], 2) | {"MSR": 0.5, "TM": 3, "DFTR": 2 / 3, "COR": -2}
NOT_SCALING = ["M0", "M2", "M4", "SPARSI", "IRF", "WLF", "MFL", "MLK", "WENG", "WV", "WWL", "RMSPHASOR", "WLPHASOR"]  # logs
ADC_WINDOWS = arrays(  # integer-valued samples, like raw ADC data, so that scaling by 2^j is exact
    np.float64, st.tuples(st.integers(1, 3), st.just(4), st.integers(12, 48)), elements=st.integers(-2000, 2000).map(float)
)


@settings(max_examples=40, deadline=None)
@given(ADC_WINDOWS, st.integers(-6, 6))
def test_every_feature_scales_with_amplitude_as_its_formula_says(X, j):
    k = 2.0**j
    for name in sorted(set(FEATURES) - set(NOT_SCALING)):
        fe = FeatureExtractor([name], fs=1000).fit(X)
        base, scaled = fe.transform(X), fe.transform(k * X)
        assert base.shape == (X.shape[0], len(fe.get_feature_names_out()))
        assert np.isfinite(base).all(), name
        np.testing.assert_allclose(scaled, k ** SCALING[name] * base, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("value", [0.0, 3.5, -1e-3])
def test_every_feature_is_finite_on_constant_and_zero_windows(value):
    X = np.full((2, 4, 64), value)
    for name in FEATURES:
        out = FeatureExtractor([name], fs=1000).fit_transform(X)
        assert np.isfinite(out).all(), name
    counts = FeatureExtractor(["ZC", "SSC", "WAMP"], fs=1000, params={"SSC": {"threshold": 1e-9}}).fit_transform(X)
    np.testing.assert_array_equal(counts, 0)


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


def test_feature_catalogue_document_is_generated_from_the_registry():
    text = (Path(__file__).resolve().parents[2] / "docs" / "features.md").read_text(encoding="utf-8")
    assert text == catalogue.markdown(), "docs/features.md is out of date: python -m bmelearn.features.catalogue > docs/features.md"
    for name in list(FEATURES) + list(GROUPS):
        assert f"| {name} |" in text


@pytest.mark.parametrize("wavelet", ["sym8", "db4", "haar", "coif3", "bior2.2", "db3"])
@pytest.mark.parametrize("n_times", [3, 16, 31, 200])
def test_compiled_wavelet_transform_equals_pywavelets(wavelet, n_times):
    # lengths down to shorter than the filter, where the symmetric extension wraps more than once
    rows = np.random.default_rng(n_times).standard_normal((3, n_times))
    bank = pywt.Wavelet(wavelet)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyWavelets warns that such levels are all boundary
        expected = np.stack([np.concatenate(pywt.wavedec(r, wavelet, mode="symmetric", level=3)) for r in rows])
    got = np.empty_like(expected)
    kernels.wavedec(rows, np.asarray(bank.dec_lo), np.asarray(bank.dec_hi), 3, got)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_blocked_threaded_spectrum_and_wavelets_equal_the_one_block_result(monkeypatch, emg_windows):
    X = np.concatenate([emg_windows] * 4)
    names = ["MNF", "DFTR", "MSWT"]
    one_block = FeatureExtractor(names, fs=1000).fit_transform(X)
    monkeypatch.setattr(registry, "BLOCK", 3 * 256)  # three rows a block: many blocks on every thread
    monkeypatch.setattr(registry, "THREADS", 2)
    np.testing.assert_array_equal(FeatureExtractor(names, fs=1000).fit_transform(X), one_block)
    # DFTR alone streams its bands from the FFT blocks; after MNF it reads the shared spectrum
    alone = FeatureExtractor(["DFTR"], fs=1000).fit_transform(X)
    np.testing.assert_allclose(alone, one_block[:, X.shape[1] : X.shape[1] + alone.shape[1]], rtol=1e-12)


def test_bad_feature_parameters_and_shapes_name_the_fix():
    X = np.random.default_rng(0).standard_normal((2, 3, 20))
    with pytest.raises(ConfigError, match="MAVSLP.segments"):
        FeatureExtractor(["MAVSLP"], fs=1000, params={"MAVSLP": {"segments": 50}}).fit_transform(X)
    with pytest.raises(ConfigError, match="AR order"):
        FeatureExtractor(["AR"], fs=1000, params={"AR": {"order": 30}}).fit_transform(X)
    with pytest.raises(DataError, match="in fours"):
        FeatureExtractor(["QROT"], fs=50).fit_transform(X)
    with pytest.raises(ConfigError, match="wavelet 'morlet'.*sym8"):
        FeatureExtractor(["WENG"], fs=1000, params={"WENG": {"wavelet": "morlet"}}).fit(X)
    with pytest.raises(DataError, match="DFTR needs the sampling rate"):
        FeatureExtractor(["DFTR"]).fit(X)


def test_logged_features_are_the_natural_log_of_their_columns(simulated_windows):
    """``log`` replaces the columns of the features it names by their natural log, under the
    same names, and leaves every other column as it was; a group stands for its members."""
    plain = FeatureExtractor(["HTD", "RMS"], fs=1000).fit(simulated_windows)
    logged = FeatureExtractor(["HTD", "RMS"], fs=1000, log=["MAV", "WL"]).fit(simulated_windows)
    assert logged.get_params()["log"] == ["MAV", "WL"] and clone(logged).get_params() == logged.get_params()
    names = plain.get_feature_names_out()
    np.testing.assert_array_equal(logged.get_feature_names_out(), names)
    is_logged = np.array([n.split("_")[0] in ("MAV", "WL") for n in names])
    before, after = plain.transform(simulated_windows), logged.transform(simulated_windows)
    np.testing.assert_array_equal(after[:, is_logged], np.log(before[:, is_logged]))
    np.testing.assert_array_equal(after[:, ~is_logged], before[:, ~is_logged])
    gain = FeatureExtractor(["MAV", "WL"], fs=1000, log=["MAV", "WL"]).fit(simulated_windows)
    np.testing.assert_allclose(gain.transform(3 * simulated_windows), gain.transform(simulated_windows) + np.log(3))
    group = FeatureExtractor(["HTD"], fs=1000, log=["htd"]).fit(simulated_windows)
    assert group.log_ == ["MAV", "ZC", "SSC", "WL"]
    dead = FeatureExtractor(["MAV"], log=["MAV"]).fit_transform(np.zeros((2, 3, 50)))
    assert np.isfinite(dead).all() and dead.max() < -700  # log(0) floored at the smallest double


def test_logging_an_unselected_or_signed_feature_is_an_error():
    X = np.random.default_rng(0).normal(-1, 1, (4, 2, 100))
    with pytest.raises(ConfigError, match=r"features.log: \['RMS'\] are not among the selected features \['MAV', 'ZC', "
                                          r"'SSC', 'WL'\]"):
        FeatureExtractor(["HTD"], log=["MAV", "RMS"]).fit(X)
    with pytest.raises(ConfigError, match="features.log: MEAN takes negative values"):
        FeatureExtractor(["MEAN", "MAV"], log=["MEAN", "MAV"]).fit_transform(X)


def test_an_extractor_saved_before_log_existed_still_transforms(simulated_windows):
    extractor = FeatureExtractor(["HTD"], fs=1000).fit(simulated_windows)
    expected = extractor.transform(simulated_windows)
    del extractor.log, extractor.log_  # as loaded from a model file written without them
    np.testing.assert_array_equal(extractor.transform(simulated_windows), expected)
