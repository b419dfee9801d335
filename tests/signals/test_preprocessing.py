import numpy as np
import pytest
from scipy import signal

from bmelearn.errors import ConfigError, SignalError
from bmelearn.signals.preprocessing import bandpass, envelope, highpass, lowpass, normalize, notch, preprocess, rectify, resample
from bmelearn.signals.recording import Recording

FS = 1000.0


def _sines(*freqs, seconds=4.0, fs=FS):
    t = np.arange(int(seconds * fs)) / fs
    data = np.vstack([sum(np.sin(2 * np.pi * f * t) for f in freqs)])
    return Recording(data, fs, ["c1"], ["emg"], meta={"source": "synthetic.csv"})


def _amplitude(rec, f):
    """Amplitude of the f Hz component (one-sided DFT), 1 s away from the edges."""
    trim = int(rec.fs)
    x = rec.data[0, trim:-trim]
    spectrum = np.abs(np.fft.rfft(x)) * 2 / len(x)
    return spectrum[np.argmin(np.abs(np.fft.rfftfreq(len(x), 1 / rec.fs) - f))]


def test_bandpass_keeps_the_band_and_removes_the_rest():
    out = bandpass(_sines(5, 100, 480), 20, 450)
    assert _amplitude(out, 100) == pytest.approx(1.0, abs=0.02)
    assert _amplitude(out, 5) < 0.01
    assert _amplitude(out, 480) < 0.5


def test_zero_phase_filters_do_not_delay_the_signal():
    rec = _sines(100)
    out = lowpass(rec, 200)
    lag = np.argmax(signal.correlate(out.data[0], rec.data[0], mode="full")) - (rec.n_samples - 1)
    assert lag == 0
    causal = lowpass(rec, 200, causal=True)
    assert not np.allclose(causal.data[0, 1000:1100], rec.data[0, 1000:1100], atol=0.05)


def test_highpass_removes_offset_and_drift():
    rec = _sines(80)
    drifting = rec.with_data(rec.data + 5 + np.linspace(0, 3, rec.n_samples))
    out = highpass(drifting, 20)
    assert abs(out.data[0, 1000:-1000].mean()) < 0.01
    assert _amplitude(out, 80) == pytest.approx(1.0, abs=0.02)


def test_notch_removes_powerline_and_harmonics_only():
    out = notch(_sines(50, 150, 120), freq=50, harmonics=3)
    assert _amplitude(out, 50) < 0.02 and _amplitude(out, 150) < 0.02
    assert _amplitude(out, 120) == pytest.approx(1.0, abs=0.03)


def test_rectify_and_envelope():
    t = np.arange(4000) / FS
    burst = np.sin(2 * np.pi * 100 * t) * (t > 2)
    rec = Recording(burst[None], FS, ["c1"], ["emg"])
    assert rectify(rec).data.min() >= 0
    env = envelope(rec, cutoff=5).data[0]
    # a unit sine rectified has mean 2/pi
    assert env[3000] == pytest.approx(2 / np.pi, abs=0.05)
    assert abs(env[1000]) < 0.05


def test_normalize_per_channel():
    rec = Recording(np.array([[1.0, 2, 3, 4], [10, 10, 10, 10]]), FS, ["a", "b"], ["emg", "emg"])
    z = normalize(rec).data
    assert z[0].mean() == pytest.approx(0) and z[0].std() == pytest.approx(1)
    np.testing.assert_array_equal(z[1], 0)  # a flat channel is not divided by zero
    assert normalize(rec, "max").data[0].max() == 1.0
    with pytest.raises(ConfigError, match="zscore"):
        normalize(rec, "robust")


def test_resample_changes_rate_and_keeps_content():
    out = resample(_sines(30), 200)
    assert out.fs == 200 and out.n_samples == 800
    assert _amplitude(out, 30) == pytest.approx(1.0, abs=0.05)


def test_cutoff_at_or_above_nyquist_is_a_clear_error():
    with pytest.raises(SignalError, match=r"Nyquist frequency 500 Hz of synthetic.csv"):
        lowpass(_sines(10), 500)
    with pytest.raises(SignalError, match="Nyquist"):
        bandpass(_sines(10, fs=200), 20, 450)
    with pytest.raises(SignalError, match="below high"):
        bandpass(_sines(10), 300, 100)


def test_filter_too_long_for_the_signal_is_a_clear_error():
    short = Recording(np.ones((1, 20)), FS, ["c1"], ["emg"], meta={"source": "short.csv"})
    with pytest.raises(SignalError, match=r"short.csv has 20"):
        bandpass(short, 20, 450, order=4)


def test_preprocess_applies_steps_to_chosen_modalities(simulated):
    out = preprocess(simulated, [{"highpass": {"cutoff": 30}}, {"rectify": {}}])
    emg = [r for r in out if r.modality == "emg"]
    acc_in = [r for r in simulated if r.modality == "acc"]
    acc_out = [r for r in out if r.modality == "acc"]
    assert all(r.data.min() >= 0 for r in emg)
    assert all(a is b for a, b in zip(acc_in, acc_out, strict=True))
    with pytest.raises(ConfigError, match="unknown step 'smooth'"):
        preprocess(simulated, [{"smooth": {}}])


def test_powerline_in_the_simulator_is_removed_by_the_notch():
    from bmelearn.datasets.simulator import simulate

    rs = simulate(n_subjects=1, n_sessions=1, n_repetitions=1, powerline=1.0, seed=1).select(modalities="emg", labels="rest")
    rec = rs[0]
    f, p_before = signal.welch(rec.data[0], rec.fs, nperseg=1000)
    _, p_after = signal.welch(notch(rec, 50).data[0], rec.fs, nperseg=1000)
    k = np.argmin(np.abs(f - 50))
    assert p_after[k] < p_before[k] / 100
