"""Load on the prediction service: concurrent clients upload a recording and wait for its
predictions, over loopback, for a fixed time; prints throughput and latency percentiles.

    python benchmarks/serve.py [--data ../shared/data] [--clients 50] [--seconds 30]

The server is ``bmelearn serve`` in its own process on a free 127.0.0.1 port. Its model is
LDA on LS4 features, trained on 3DC participant 1 (10 EMG channels, 1 kHz) unless
``--runs`` and ``--model`` name another; the recording is one 3DC file (about 5 s, 10
channels, as text), or with ``--recording`` any file the model takes. Every request is
counted; any answer but 200 is an error and makes the script exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def build_runs(data: Path, folder: Path) -> tuple[Path, str]:
    """A runs folder with the 3DC participant-1 LDA model."""
    from bmelearn.runs.config import ExperimentConfig
    from bmelearn.runs.experiment import run

    config = ExperimentConfig.model_validate({
        "name": "3dc-p1", "seed": 0, "dataset": {"name": "3dc", "path": str(data / "3dc"), "subjects": [1]},
        "windows": {"length": 0.2, "step": 0.1}, "features": ["LS4"], "models": ["lda"],
        "protocols": [{"cross_session": {"train": ["train"], "test": ["test"]}}], "evaluation": {"n_boot": 100},
    })
    run(config, folder / "3dc-p1")
    return folder, "3dc-p1/lda"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs: Path, port: int, workers: int = 2) -> subprocess.Popen:
    command = [sys.executable, "-m", "bmelearn.cli", "serve", str(runs), "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env=os.environ | {"PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/api/v1/runs", timeout=1).status_code == 200:
                return server
        except httpx2.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:]}")


async def load(url: str, payload: bytes, filename: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    """``clients`` loops posting the recording until ``seconds`` have passed: latencies (s) and errors."""
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + seconds
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(limits=limits, timeout=120) as client:

        async def one_client() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                try:
                    response = await client.post(url, files={"files": (filename, payload)})
                    if response.status_code != 200:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                        continue
                except httpx2.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    continue
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--runs", type=Path, help="runs folder to serve (default: build the 3DC participant-1 run)")
    parser.add_argument("--model", help="RUN/MODEL to predict with (with --runs)")
    parser.add_argument("--recording", type=Path, help="file to upload (default: a 3DC recording of participant 1)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        runs, model = (args.runs, args.model) if args.runs else build_runs(args.data, Path(scratch))
        recording = args.recording or args.data / "3dc" / "Participant1" / "test" / "EMG" / "3dc_EMG_gesture_0_2.txt"
        payload = recording.read_bytes()
        port = free_port()
        server = start_server(runs, port)
        try:
            url = f"http://127.0.0.1:{port}/api/v1/models/{model}/predict"
            first = httpx2.post(url, files={"files": (recording.name, payload)}, timeout=60).json()
            print(f"model {model}; recording {recording.name}: {len(payload) / 1e3:.0f} kB, "
                  f"{first['windows'][-1]['end']:.1f} s, {first['n_windows']} windows per request")
            started = time.perf_counter()
            latencies, errors = asyncio.run(load(url, payload, recording.name, args.clients, args.seconds))
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(10)
    ms = 1e3 * np.asarray(latencies)
    print(f"{args.clients} clients for {elapsed:.1f} s on {os.cpu_count()} cores (clients and server share them)")
    print(f"requests: {len(latencies)} ok, {len(errors)} errors; throughput {len(latencies) / elapsed:.1f} requests/s "
          f"({len(latencies) * first['n_windows'] / elapsed:.0f} windows/s)")
    if len(ms):
        print(f"latency ms: p50 {np.percentile(ms, 50):.0f}, p90 {np.percentile(ms, 90):.0f}, "
              f"p99 {np.percentile(ms, 99):.0f}, max {ms.max():.0f}")
    for error in sorted(set(errors))[:5]:
        print("error:", error)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
