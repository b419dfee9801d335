"""Plain, obviously-correct implementations of every feature's documented formula, one window
and one channel at a time, in Python loops (NumPy, SciPy or PyWavelets only where they are the
textbook tool: an FFT, a 1-D wavelet decomposition, a rotation). The vectorized, compiled
features are tested against these.

Each takes a 1-D window ``w`` (a list of floats) and ``fs``, and returns one value, or a list
of values for features with several per channel.
"""

from __future__ import annotations

import cmath
import math
from itertools import combinations

import numpy as np
import pywt
from scipy import stats
from scipy.spatial.transform import Rotation

TINY = np.finfo(float).tiny


def log(v):
    return math.log(max(v, TINY))


def diff(w):
    return [w[i + 1] - w[i] for i in range(len(w) - 1)]


def mean(w):
    return sum(w) / len(w)


def pvar(w):
    m = mean(w)
    return sum((v - m) ** 2 for v in w) / len(w)


def ratio(a, b):
    return a / b if b != 0 else 0.0


def l_scale(w):
    """Half the mean absolute difference over all pairs (Hosking 1990), an independent route to L2."""
    n = len(w)
    return sum(abs(a - b) for a, b in combinations(w, 2)) / (n * (n - 1))


def burg(w, p):
    """Burg's method, scalar loops: the prediction-error polynomial [1, α_1 … α_p]."""
    f, b = list(w[1:]), list(w[:-1])
    a = [1.0] + [0.0] * p
    for k in range(p):
        num = -2 * sum(fi * bi for fi, bi in zip(f, b))
        den = sum(fi * fi + bi * bi for fi, bi in zip(f, b))
        mu = num / den if den else 0.0
        a = [a[i] + mu * a[k + 1 - i] if i <= k + 1 else a[i] for i in range(p + 1)]
        f, b = [f[i + 1] + mu * b[i + 1] for i in range(len(f) - 1)], [b[i] + mu * f[i] for i in range(len(f) - 1)]
    return a


def ar(w, p=4):
    return [-v for v in burg(w, p)[1:]]


def cepstral(w, p=4):
    alpha = burg(w, p)[1:]
    c = []
    for n in range(1, p + 1):
        c.append(-alpha[n - 1] - sum((1 - k / n) * alpha[k - 1] * c[n - k - 1] for k in range(1, n)))
    return c


def spectrum(w, fs):
    n_fft = 1 << math.ceil(math.log2(len(w)))
    X = np.fft.fft(w, n_fft)[: n_fft // 2]
    power = [abs(v) ** 2 / len(w) ** 2 for v in X]
    return power, [k * fs / n_fft for k in range(n_fft // 2)]


def median_frequency(w, fs):
    power, freqs = spectrum(w, fs)
    total, cumulative = sum(power), 0.0
    for p, f in zip(power, freqs):
        cumulative += p
        if cumulative > total / 2:
            return f
    return 0.0


def dftr(w, fs):
    power, freqs = spectrum(w, fs)
    edges = [e for e in (20, 92, 163, 235, 305, 378, 450) if e < fs / 2]
    out = []
    for lo, hi in zip(edges, edges[1:]):
        mags = [math.sqrt(p) for p, f in zip(power, freqs) if lo < f < hi]
        out.append((sum(mags) / len(mags)) ** (2 / 3))
    return out


def dominant_frequency(w, fs):
    power, freqs = spectrum(w, fs)
    if max(power[1:]) == 0:
        return 0.0
    return freqs[1 + int(np.argmax(power[1:]))]


def spectral_entropy(w, fs):
    power = spectrum(w, fs)[0][1:]
    total = sum(power)
    if total == 0:
        return 0.0
    return -sum(p / total * math.log(p / total) for p in power if p > 0) / math.log(len(power))


def tdpsd(w, name):
    def descriptors(x):
        n = len(x)
        d1 = diff(x)
        d2 = diff(d1)
        m0 = (math.sqrt(sum(v * v for v in x)) / (n - 1)) ** 0.1 / 0.1
        m2 = math.sqrt(sum(v * v for v in d1) / (n - 1)) ** 0.1 / 0.1
        m4 = math.sqrt(sum(v * v for v in d2) / (n - 1)) ** 0.1 / 0.1
        return {
            "M0": log(m0),
            "M2": log(abs(m0 - m2)),
            "M4": log(abs(m0 - m4)),
            "SPARSI": log(ratio(math.sqrt(abs((m0 - m2) * (m0 - m4))), m0)),
            "IRF": log(ratio(m2, math.sqrt(m0 * m4))),
            "WLF": 0.5 * (log(sum(map(abs, d1))) - log(sum(map(abs, d2)))),
        }[name]

    fx, fl = descriptors(w), descriptors([math.log(v * v + np.spacing(1.0)) for v in w])
    return ratio(-2 * fx * fl, fx * fx + fl * fl)


def wavelet(w, fs, name):
    level = min(math.floor(math.log2(fs / 2) - 1), pywt.dwt_max_level(len(w), pywt.Wavelet("sym8").dec_len))
    out = []
    for c in pywt.wavedec(np.asarray(w), "sym8", level=level):
        e = [v * v for v in c]
        if name == "WENG":
            out.append(log(sum(e)))
        elif name == "WV":
            out.append(log(pvar(e)))
        elif name == "WWL":
            out.append(log(sum(map(abs, diff(e)))))
        else:
            total = sum(e)
            out.append(-sum(v / total * math.log(v / total) for v in e if v > 0) if total else 0.0)
    return out


def sample_entropy(w, m=2, tol=0.3):
    r = tol * math.sqrt(pvar(w))
    n_t = len(w) - m
    b = a = 0
    for i in range(n_t):
        for j in range(i + 1, n_t):
            if all(abs(w[i + k] - w[j + k]) <= r for k in range(m)):
                b += 1
                a += abs(w[i + m] - w[j + m]) <= r
    return math.log(max(b, 1) / max(a, 1))


def fuzzy_entropy(w, m=2, tol=0.3, power=2):
    r = tol * math.sqrt(pvar(w))
    n_t = len(w) - m

    def phi(dim):
        t = [[w[i + k] - mean(w[i : i + dim]) for k in range(dim)] for i in range(n_t)]
        total = sum(
            math.exp(-((max(abs(p - q) for p, q in zip(t[i], t[j])) / r) ** power)) for i in range(n_t) for j in range(i + 1, n_t)
        )
        return 2 * total / (n_t * (n_t - 1))

    return math.log(phi(m)) - math.log(phi(m + 1))


CHANNEL = {
    "MAV": lambda w, fs: mean([abs(v) for v in w]),
    "IAV": lambda w, fs: sum(abs(v) for v in w),
    "RMS": lambda w, fs: math.sqrt(mean([v * v for v in w])),
    "VAR": lambda w, fs: pvar(w),
    "MEAN": lambda w, fs: mean(w),
    "WL": lambda w, fs: sum(abs(d) for d in diff(w)),
    "ZC": lambda w, fs: sum(1 for i in range(len(w) - 1) if w[i] * w[i + 1] < 0),
    "SSC": lambda w, fs: sum(1 for i in range(1, len(w) - 1) if (w[i] - w[i - 1]) * (w[i] - w[i + 1]) >= 0),
    "WAMP": lambda w, fs: sum(1 for d in diff(w) if abs(d) > 2e-3),
    "LS": lambda w, fs: l_scale(w),
    "MFL": lambda w, fs: math.log10(math.sqrt(sum(d * d for d in diff(w)))),
    "MSR": lambda w, fs: abs(sum(cmath.sqrt(v) for v in w) / len(w)),
    "DASDV": lambda w, fs: math.sqrt(sum(d * d for d in diff(w)) / (len(w) - 1)),
    "MAVFD": lambda w, fs: mean([abs(d) for d in diff(w)]),
    "LD": lambda w, fs: math.exp(mean([math.log(abs(v)) for v in w])) if all(w) else 0.0,
    "MAVSLP": lambda w, fs: [mean([abs(v) for v in w[len(w) // 2 : len(w) // 2 * 2]]) - mean([abs(v) for v in w[: len(w) // 2]])],
    "MPK": lambda w, fs: max(w),
    "SKEW": lambda w, fs: float(stats.skew(w)),
    "KURT": lambda w, fs: float(stats.kurtosis(w, fisher=False)),
    "TM": lambda w, fs: abs(mean([v**3 for v in w])),
    "PAP": lambda w, fs: math.sqrt(sum(v * v for v in w))
    * math.sqrt(sum(d * d for d in diff(w)))
    / math.sqrt(sum(d * d for d in diff(diff(w)))),
    "MZP": lambda w, fs: math.sqrt(sum(d * d for d in diff(w)) / len(w)),
    "ISD": lambda w, fs: sum(v * v for v in w),
    "MDIFF": lambda w, fs: sum(d * d for d in diff(w)) / len(w),
    "COR": lambda w, fs: (sum(d * d for d in diff(w)) / len(w))
    / (sum(d * d for d in diff(diff(w))) / len(w) * sum(v * v for v in w)),
    "MLK": lambda w, fs: math.log(sum(abs(v) for v in w)) / len(w),
    "ACT": lambda w, fs: mean([v * v for v in w]),
    "ENERGY": lambda w, fs: mean([v * v for v in w]),
    "MOB": lambda w, fs: math.sqrt(mean([d * d for d in diff(w) + [0.0]]) / mean([v * v for v in w])),
    "COMP": lambda w, fs: math.sqrt(sum(d * d for d in diff(diff(w))) * sum(v * v for v in w)) / sum(d * d for d in diff(w)),
    "AR": lambda w, fs: ar(w),
    "AR9": lambda w, fs: ar(w, 9),
    "CC": lambda w, fs: cepstral(w),
    "MNF": lambda w, fs: sum(p * f for p, f in zip(*spectrum(w, fs))) / sum(spectrum(w, fs)[0]),
    "MDF": median_frequency,
    "MNP": lambda w, fs: mean(spectrum(w, fs)[0]),
    "SM": lambda w, fs: sum(p * f**2 for p, f in zip(*spectrum(w, fs))),
    "DFTR": dftr,
    "DOMFREQ": dominant_frequency,
    "SPECENT": spectral_entropy,
    "SAMPEN": lambda w, fs: sample_entropy(w),
    "FUZZYEN": lambda w, fs: fuzzy_entropy(w),
    "STD": lambda w, fs: math.sqrt(pvar(w)),
    "MIN": lambda w, fs: min(w),
    "MAX": lambda w, fs: max(w),
    "RANGE": lambda w, fs: max(w) - min(w),
    "JERK": lambda w, fs: mean([abs(d) * fs for d in diff(w)]),
}
CHANNEL |= {name: (lambda name: lambda w, fs: tdpsd(w, name))(name) for name in ("M0", "M2", "M4", "SPARSI", "IRF", "WLF")}
CHANNEL |= {name: (lambda name: lambda w, fs: wavelet(w, fs, name))(name) for name in ("WENG", "WV", "WWL", "WENT")}


def _phasor(amplitudes, amplitudes_of_diff):
    n = len(amplitudes)
    phasor = [a * cmath.exp(2j * math.pi * c / n) for c, a in enumerate(amplitudes)]
    phasor_d = [a * cmath.exp(2j * math.pi * c / n) for c, a in enumerate(amplitudes_of_diff)]
    pairs = list(combinations(range(n), 2))
    logs = [math.log(abs(phasor[i] - phasor[j])) for i, j in pairs]
    return logs + [d - math.log(abs(phasor_d[i] - phasor_d[j])) for d, (i, j) in zip(logs, pairs)]


def quaternion_features(window, fs):
    """QEULER (roll, pitch, yaw of the sign-aligned mean), QROT and QSPEED of one 4-channel window."""
    q = np.asarray(window).T  # (n_times, 4) as w, x, y, z
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    aligned = np.array([v if v @ q[0] >= 0 else -v for v in q])
    w_, x, y, z = aligned.mean(axis=0)
    yaw, pitch, roll = Rotation.from_quat([x, y, z, w_]).as_euler("ZYX")
    angle = lambda p, r: 2 * math.acos(min(1.0, abs(float(p @ r))))  # noqa: E731
    speed = mean([angle(q[i], q[i + 1]) for i in range(len(q) - 1)]) * fs
    return {"QEULER": [roll, pitch, yaw], "QROT": [angle(q[0], q[-1])], "QSPEED": [speed]}


WINDOW = {  # features of the whole window (all channels): a list of values in column order
    "RMSPHASOR": lambda x, fs: _phasor([math.sqrt(mean([v * v for v in w])) for w in x], [math.sqrt(mean([d * d for d in diff(w)])) for w in x]),
    "WLPHASOR": lambda x, fs: _phasor([sum(map(abs, diff(w))) for w in x], [sum(map(abs, diff(diff(w)))) for w in x]),
    "AXCORR": lambda x, fs: [float(np.corrcoef(x[i], x[j])[0, 1]) for i, j in combinations(range(len(x)), 2)],
}
