"""Online decoding: the processing of each window, and the memory of a decoder left running.

    python benchmarks/online.py [--seconds 60] [--chunk 0.02] [--lsl] [--channels 8 10 64]

For each signal (8 channels at 200 Hz, 10 at 1 kHz, 64 at 4 kHz; simulated EMG, said so) it
trains LDA on HTD + LS9 + TDPSD features of 200 ms windows every 50 ms with a causal
band-pass, then streams ``--seconds`` of new signal into an
:class:`~bmelearn.serving.online.OnlineDecoder` in chunks of ``--chunk`` seconds, as an
amplifier sends them, without waiting between chunks (so it measures the computer, not the
clock), and prints, per decision, the processing time (the push of the chunk that completed
its window, divided by the windows it completed) at p50 and p99; the decisions per second the
decoder sustains; the process's resident memory at the start and end and its slope (MB per
minute of streamed signal, a least-squares line through one sample per second of it); and the
controller delay these settings give, with its parts: half the window (the mean age of its
samples), half the step (the mean wait for the next decision) and the processing at p99
(Farrell & Weir, IEEE TNSRE 15(1), 2007, found 100-125 ms best).

With ``--lsl``, the same signals run live instead: another process plays ``--seconds`` of
them as an LSL stream (kept to this machine) in real time, and ``bmelearn online``'s
:func:`~bmelearn.serving.lsl.run_online` decides it, so the decoder shares the cores with the
stream as it would beside an amplifier's driver; printed are the processing per decision
(p50/p99), the delay from each window's last sample to its decision's publication
(p50/p95/p99), the process's memory at the first and last second of decisions with its slope
(MB per minute), and the whole controller delay with its parts (half the window, half the
step, the delay at p50).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from bmelearn.models import make_model
from bmelearn.pipeline import SignalPipeline
from bmelearn.serving import DeployableModel
from bmelearn.serving.online import OnlineDecoder
from bmelearn.signals.recording import Recording

SIGNALS = [(8, 200.0), (10, 1000.0), (64, 4000.0)]
FEATURES = ["HTD", "LS9", "TDPSD"]
LENGTH, STEP = 0.2, 0.05


def simulated(n_channels: int, fs: float, seconds: float, label: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated EMG (samples × channels): noise whose amplitude on each channel depends on the class."""
    gains = 1.0 + np.random.default_rng(label).random(n_channels) * 3
    return rng.standard_normal((int(seconds * fs), n_channels)) * gains


def trained(n_channels: int, fs: float) -> DeployableModel:
    """LDA on three simulated classes, 10 s each, through a causal band-pass below fs/2."""
    rng = np.random.default_rng(0)
    names, types = tuple(f"EMG{i + 1}" for i in range(n_channels)), ("emg",) * n_channels
    trials = [Recording(simulated(n_channels, fs, 10.0, label, rng).T, fs, names, types) for label in range(3)]
    high = min(450.0, 0.45 * fs)
    pipeline = SignalPipeline.fit({"emg": trials[0]}, [{"bandpass": {"low": 20, "high": high, "causal": True}}], {},
                                  LENGTH, STEP, False, {"emg": FEATURES})
    parts = [pipeline.transform({"emg": t})[0] for t in trials]
    labels = np.concatenate([[f"class {k}"] * len(x) for k, x in enumerate(parts)])
    return DeployableModel(pipeline, make_model("lda").fit(np.vstack(parts), labels), sorted(set(labels)), {})


def stream(model: DeployableModel, n_channels: int, fs: float, seconds: float, chunk: float) -> dict:
    """Stream ``seconds`` of simulated signal through a decoder; the measures of the module text."""
    decoder = OnlineDecoder(model)
    rng, process = np.random.default_rng(1), psutil.Process()
    per_chunk, per_window, memory = max(1, round(chunk * fs)), [], []
    started, decided = time.perf_counter(), 0
    for second in range(int(seconds)):
        signal = simulated(n_channels, fs, 1.0, second % 3, rng)
        for first in range(0, len(signal), per_chunk):
            began = time.perf_counter()
            n = len(decoder.push(signal[first:first + per_chunk]))
            if n:
                per_window += [(time.perf_counter() - began) / n] * n
                decided += n
        memory.append(process.memory_info().rss / 2**20)
    elapsed = time.perf_counter() - started
    slope = np.polyfit(np.arange(len(memory)) / 60, memory, 1)[0] if len(memory) > 1 else 0.0  # MB per minute of signal
    return {"p50": 1000 * np.percentile(per_window, 50), "p99": 1000 * np.percentile(per_window, 99),
            "rate": decided / elapsed, "rss": (memory[0], memory[-1]), "slope": slope, "decisions": decided}


def play(n_channels: int, fs: float, seconds: float, name: str) -> None:
    """In a process of its own: ``seconds`` of simulated signal as the LSL stream ``name``, in real time."""
    from bmelearn.serving.lsl import replay

    rng = np.random.default_rng(2)
    signal = np.vstack([simulated(n_channels, fs, 1.0, k % 3, rng) for k in range(int(seconds))])
    names, types = tuple(f"EMG{i + 1}" for i in range(n_channels)), ("emg",) * n_channels
    replay(Recording(signal.T, fs, names, types), name, wait=60)


class Memory:
    """Given to run_online as its ``watch`` (the live page's place): the process's resident
    memory (MB) at each second of decisions (every ``per_second`` decisions)."""

    def __init__(self, per_second: int) -> None:
        self.per_second, self.decisions, self.rss, self.process = per_second, 0, [], psutil.Process()

    def samples(self, chunk: np.ndarray) -> None:
        pass

    def decided(self, row: dict) -> None:
        self.decisions += 1
        if self.decisions % self.per_second == 0:
            self.rss.append(self.process.memory_info().rss / 2**20)

    def said(self, message: str) -> None:
        pass

    def finished(self, reason: str) -> None:
        pass


def live(model: DeployableModel, n_channels: int, fs: float, seconds: float) -> dict:
    """Decide ``seconds`` of a stream played by another process; the measures of the module text."""
    from bmelearn.serving.lsl import run_online

    name = f"bmelearn-bench-{n_channels}-{fs:g}"
    player = multiprocessing.get_context("spawn").Process(target=play, args=(n_channels, fs, seconds, name))
    player.start()
    memory = Memory(round(1 / STEP))
    try:
        table = run_online(model, name, duration=seconds + 2, wait=60, say=lambda message: None, watch=memory)
    finally:
        player.join(30)
    ms = {c: 1000 * table[c].quantile([0.5, 0.95, 0.99]) for c in ("processing", "latency")}
    rss = memory.rss or [0.0]
    slope = np.polyfit(np.arange(len(rss)) / 60, rss, 1)[0] if len(rss) > 1 else 0.0  # MB per minute
    return {"decisions": len(table), "processing": ms["processing"], "latency": ms["latency"],
            "dropped": table.attrs["dropped"], "rss": (rss[0], rss[-1]), "slope": slope}


def main_live(seconds: float, signals: list[tuple[int, float]]) -> None:
    print(f"Simulated EMG played over LSL (this machine only) by another process; {'+'.join(FEATURES)}, LDA; "
          f"{1000 * LENGTH:.0f} ms windows every {1000 * STEP:.0f} ms; {seconds:g} s each")
    print(f"{'signal':>18} {'decisions':>9} {'processing p50/p99 ms':>22} {'delay p50/p95/p99 ms':>22}"
          f" {'RSS MB start-end':>17} {'MB/min':>7} {'controller delay ms (window/2 + step/2 + delay p50)':>52}")
    for n_channels, fs in signals:
        measured = live(trained(n_channels, fs), n_channels, fs, seconds)
        p, d = measured["processing"], measured["latency"]
        delay = 1000 * (LENGTH / 2 + STEP / 2) + d[0.5]
        print(f"{n_channels:>3} ch at {fs:>6g} Hz {measured['decisions']:9d} {p[0.5]:10.2f} / {p[0.99]:<9.2f}"
              f" {d[0.5]:7.1f} / {d[0.95]:5.1f} / {d[0.99]:<6.1f} {measured['rss'][0]:8.0f}-{measured['rss'][1]:<8.0f}"
              f" {measured['slope']:7.2f} {delay:18.1f} = {1000 * LENGTH / 2:.0f} + {1000 * STEP / 2:.0f} + {d[0.5]:.1f}"
              + (f"  ({measured['dropped']} samples dropped)" if measured["dropped"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of signal streamed per configuration")
    parser.add_argument("--chunk", type=float, default=0.02, help="seconds of signal per chunk pushed")
    parser.add_argument("--lsl", action="store_true", help="decide a live LSL stream played by another process")
    parser.add_argument("--channels", type=int, nargs="+", default=[n for n, _ in SIGNALS],
                        help="the signals to measure, by their channels (8: 200 Hz, 10: 1 kHz, 64: 4 kHz)")
    args = parser.parse_args()
    signals = [(n, fs) for n, fs in SIGNALS if n in args.channels]
    if args.lsl:
        config = Path(tempfile.mkdtemp()) / "lsl_api.cfg"  # LSL kept to this machine, for the player too
        config.write_text("[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n")
        os.environ["LSLAPICFG"] = str(config)
        main_live(args.seconds, signals)
        return
    print(f"Simulated EMG; {'+'.join(FEATURES)}, LDA; {1000 * LENGTH:.0f} ms windows every {1000 * STEP:.0f} ms; "
          f"{args.seconds:g} s streamed in {1000 * args.chunk:g} ms chunks")
    print(f"{'signal':>18} {'p50 ms':>7} {'p99 ms':>7} {'decisions/s':>12} {'RSS MB start-end':>17} {'MB/min':>7}"
          f" {'controller delay ms (window/2 + step/2 + p99)':>46}")
    for n_channels, fs in signals:
        measured = stream(trained(n_channels, fs), n_channels, fs, args.seconds, args.chunk)
        delay = 1000 * (LENGTH / 2 + STEP / 2) + measured["p99"]
        print(f"{n_channels:>3} ch at {fs:>6g} Hz {measured['p50']:7.2f} {measured['p99']:7.2f} {measured['rate']:12.0f} "
              f"{measured['rss'][0]:8.0f}-{measured['rss'][1]:<8.0f} {measured['slope']:7.2f}"
              f" {delay:14.1f} = {1000 * LENGTH / 2:.0f} + {1000 * STEP / 2:.0f} + {measured['p99']:.1f}")


if __name__ == "__main__":
    main()
