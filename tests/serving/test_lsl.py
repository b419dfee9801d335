"""A model on a live LSL stream: a recording replayed as a stream on this machine (LSL kept to
machine scope) is decided as offline, window for window, each decision published with its
delay from its window's last sample; a stream of another rate or other channels is refused
before any decision."""

from __future__ import annotations

import os
import re
import threading
import time

import numpy as np
import pandas as pd
import pytest

from bmelearn.pipeline.signal import MismatchError
from bmelearn.signals.recording import Recording
from tests.serving.test_online import CAUSAL, _model, _stream


@pytest.fixture(scope="module")
def lsl(tmp_path_factory):
    """pylsl, kept to this machine: no stream is looked for or announced beyond loopback."""
    config = tmp_path_factory.mktemp("lsl") / "lsl_api.cfg"
    config.write_text("[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {127.0.0.1}\n")
    os.environ["LSLAPICFG"] = str(config)
    return pytest.importorskip("pylsl")


def _replaying(recording: Recording, name: str, speed: float) -> tuple[threading.Thread, threading.Event]:
    from bmelearn.serving.lsl import replay

    stop = threading.Event()
    thread = threading.Thread(target=replay, args=(recording, name, speed), kwargs={"stop": stop, "wait": 20}, daemon=True)
    thread.start()
    return thread, stop


def test_a_replayed_recording_is_decided_as_offline_with_its_delays(lsl, simulated, tmp_path):
    import socket

    from bmelearn.serving.lsl import run_online

    model = _model(simulated, CAUSAL)
    recording = Recording(_stream(simulated).data[:, :3000], 1000.0, simulated.recordings[0].ch_names,
                          simulated.recordings[0].ch_types, modality="emg", meta={"source": "3 s"})
    offline = model.predict({"emg": recording})
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    thread, stop = _replaying(recording, "bmelearn-test-emg", speed=2.0)
    online = run_online(model, "bmelearn-test-emg", duration=3.5, log=tmp_path / "decisions.csv", wait=20,
                        udp=receiver.getsockname())
    stop.set()
    thread.join(10)
    datagrams = []
    try:
        while True:
            datagrams.append(receiver.recv(512).decode())
    except TimeoutError:
        receiver.close()
    assert [d.split(",")[0] for d in datagrams] == list(online["decision"])  # each decision, also over UDP, in order
    assert datagrams[0] == f"{online['decision'][0]},{online['confidence'][0]:.6g},0"
    assert len(online) == len(offline)  # every sample arrived, every window decided once
    assert list(online["predicted"]) == list(offline["predicted"])
    np.testing.assert_allclose(online["confidence"], offline["confidence"], rtol=0, atol=1e-12)
    assert (online["latency"] > 0).all() and online["latency"].median() < 0.1  # s, from the window's last sample
    assert (np.diff(online["sample_time"]) > 0).all()
    logged = pd.read_csv(tmp_path / "decisions.csv")
    assert list(logged["predicted"]) == list(online["predicted"]) and "latency" in logged


def test_a_stream_of_another_rate_or_channels_is_refused_before_any_decision(lsl, simulated):
    from bmelearn.serving.lsl import run_online

    model = _model(simulated, CAUSAL)
    first = simulated.recordings[0]
    slow = Recording(first.data[:, ::2], 500.0, first.ch_names, first.ch_types, modality="emg")
    thread, stop = _replaying(slow, "bmelearn-test-slow", speed=1.0)
    with pytest.raises(MismatchError, match=r"LSL stream 'bmelearn-test-slow': 500 Hz, but the model takes emg at 1000 Hz"):
        run_online(model, "bmelearn-test-slow", duration=1.0, wait=20)
    stop.set()
    renamed = Recording(first.data, 1000.0, tuple(f"ch{i}" for i in range(8)), first.ch_types, modality="emg")
    thread, stop = _replaying(renamed, "bmelearn-test-renamed", speed=1.0)
    with pytest.raises(MismatchError, match=r"channels \['ch0', .*\] but the model takes \['EMG1'"):
        run_online(model, "bmelearn-test-renamed", duration=1.0, wait=20)
    stop.set()
    from bmelearn.errors import DataError

    with pytest.raises(DataError, match=r"no LSL stream named 'nobody' answered in 0.5 s; start it"):
        run_online(model, "nobody", duration=1.0, wait=0.5)


def test_a_stream_that_pauses_or_drops_samples_is_waited_for_and_counted(lsl, simulated):
    """A source that stops for 1.5 s (then sends what it held, on its own time line) is waited
    for, said when it stops and when it is back; 60 samples missing from its time stamps (three
    chunks never sent) are counted and said; decisions go on, no crash."""
    from bmelearn.serving.lsl import run_online

    model = _model(simulated, CAUSAL)
    first = simulated.recordings[0]
    data = np.ascontiguousarray(_stream(simulated).data[:, :2000].T)
    said: list[str] = []

    def source() -> None:
        info = lsl.StreamInfo("bmelearn-test-faults", "EMG", 8, 1000.0, lsl.cf_double64, "faults")
        info.set_channel_labels(list(first.ch_names))
        outlet = lsl.StreamOutlet(info)
        outlet.wait_for_consumers(20)
        start = lsl.local_clock()
        for k in range(0, 2000, 20):
            if k == 1000:  # 1.5 s of silence
                time.sleep(1.5)
            if 600 <= k < 660:  # these samples never leave: a gap in the time stamps
                continue
            outlet.push_chunk(data[k:k + 20], start + (k + 19) / 1000)
            time.sleep(0.02)
        time.sleep(1.0)

    thread = threading.Thread(target=source, daemon=True)
    thread.start()
    online = run_online(model, "bmelearn-test-faults", duration=5.5, wait=20, say=said.append)
    thread.join(10)
    assert any("sent nothing for 1 s; waiting for it" in m for m in said)
    assert any(re.search(r"is back after 1\.\d s", m) for m in said)
    assert online.attrs["dropped"] == 60 and any("dropped 60 sample(s) (60 ms)" in m for m in said)
    assert len(online) >= 30 and online.attrs["pauses"] and online.attrs["pauses"][0] > 1.0
