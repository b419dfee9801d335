"""Server memory under large JSON arrays: the peak resident memory of ``bmelearn serve`` while
``--concurrent`` clients each post one ``predict-array`` body of about ``--megabytes`` MB,
with the server's cap on requests in flight (``--workers 2``, the default) against the same
server with a cap as large as the number of clients (no cap, the reference), in the same
invocation.

    python benchmarks/serve_memory.py [--data ../shared/data] [--megabytes 29] [--concurrent 4]

The model is the one of ``serve.py`` (LDA on LS4 features, 3DC participant 1, 10 EMG channels
at 1 kHz) unless ``--runs`` and ``--model`` name another; the arrays are simulated (Gaussian
noise, written with 17 significant digits as JSON would carry real samples). Memory is the
server process's resident set size, sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

import httpx2
import numpy as np
import psutil
from serve import ROOT, build_runs, free_port, start_server


def body(card: dict, megabytes: float) -> bytes:
    """A predict-array body of about ``megabytes`` MB for the model of ``card``."""
    (modality, signal), = card["signals"].items()
    channels = signal["channels"]
    samples = int(megabytes * 1e6 / (len(channels) * 20))  # about 20 characters a value
    data = np.random.default_rng(0).normal(size=(len(channels), samples))
    return json.dumps({"signals": {modality: {"fs": signal["fs"], "channels": channels, "data": data.tolist()}}}).encode()


def peak_memory(runs: Path, model: str, payload: bytes, concurrent: int, workers: int) -> tuple[float, float, list[int]]:
    """(resident MB at rest, peak resident MB, status of each answer) of a server with ``workers``."""
    port = free_port()
    server = start_server(runs, port, workers)
    process = psutil.Process(server.pid)
    url = f"http://127.0.0.1:{port}/api/v1/models/{model}/predict-array"
    httpx2.post(url, content=payload, headers={"Content-Type": "application/json"}, timeout=600)  # loads the model
    rest = process.memory_info().rss / 1e6
    peak, done = rest, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss / 1e6)
            time.sleep(0.02)

    async def clients() -> list[int]:
        async with httpx2.AsyncClient(timeout=600) as client:
            answers = await asyncio.gather(*(client.post(url, content=payload, headers={"Content-Type": "application/json"})
                                             for _ in range(concurrent)))
        return [a.status_code for a in answers]

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        statuses = asyncio.run(clients())
    finally:
        done.set()
        sampler.join()
        server.terminate()
        server.wait(10)
    return rest, peak, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=Path, help="runs folder to serve (default: build the 3DC participant-1 run)")
    parser.add_argument("--model", help="RUN/MODEL to predict with (with --runs)")
    parser.add_argument("--megabytes", type=float, default=29.0)
    parser.add_argument("--concurrent", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        runs, model = (args.runs, args.model) if args.runs else build_runs(args.data, Path(scratch))
        run_id, name = model.split("/")
        card = json.loads((runs / run_id / "models" / f"{name}.json").read_text())
        payload = body(card, args.megabytes)
        print(f"model {model}; {args.concurrent} concurrent predict-array bodies of {len(payload) / 1e6:.1f} MB")
        results = {workers: peak_memory(runs, model, payload, args.concurrent, workers)
                   for workers in (args.concurrent, 2)}
    for workers, (rest, peak, statuses) in results.items():
        label = "no cap (reference)" if workers == args.concurrent else "cap of 2 (default)"
        print(f"--workers {workers}, {label}: {rest:.0f} MB at rest, peak {peak:.0f} MB (+{peak - rest:.0f} MB); "
              f"answers {sorted(statuses)}")
    (rest_ref, peak_ref, _), (rest, peak, _) = results[args.concurrent], results[2]
    print(f"growth with the cap / without: {(peak - rest) / (peak_ref - rest_ref):.2f}")


if __name__ == "__main__":
    main()
