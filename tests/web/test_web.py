"""The dashboard and the JSON API, in process (FastAPI's test client). Tests of uploads and
predictions run on the simulated EMG run with simulated recordings, and on the 3DC run with
real ones where ../shared/data is (the ``recorded`` fixture of tests/web/conftest.py)."""

import io
import logging
import re
import threading

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bmelearn.cli import app as cli
from bmelearn.serving import DeployableModel, load_model, read_signal
from bmelearn.web import create_app

TOKEN = "a-test-token-of-32-characters-xx"


@pytest.fixture(scope="module")
def client(web_runs):
    with TestClient(create_app(web_runs)) as c:
        yield c


def test_runs_are_listed_with_their_headline_interval(client, shared_data_present):
    runs = {r["id"]: r for r in client.get("/api/v1/runs").json()}
    assert set(runs) == {"demo", "sim-emg"} | ({"3dc-p1"} if shared_data_present else set())
    simulated = runs["sim-emg"]
    assert simulated["dataset"] == "simulator" and simulated["models"] == ["lda"]
    assert simulated["protocols"] == ["cross_session"] and simulated["pipelines"] == ["lda"]
    assert simulated["headline"]["ci_low"] < simulated["headline"]["mean"] < simulated["headline"]["ci_high"]
    demo = runs["demo"]
    assert demo["dataset"] == "simulator" and demo["protocols"] == ["cross_session", "loso"]
    assert demo["models"] == ["lda", "rf", "svm"]
    head = demo["headline"]  # the new patient (loso), not the first protocol (cross_session)
    assert head["protocol"] == "loso" and head["metric"] == "balanced_accuracy"
    assert head["label"] == "Leave-one-subject-out: a new patient"
    assert head["ci_low"] <= head["mean"] <= head["ci_high"]
    detail = client.get("/api/v1/runs/demo").json()
    best = max((m for m in detail["metrics"] if m["protocol"] == "loso"), key=lambda m: m["balanced_accuracy"]["mean"])
    assert best["pipeline"] == head["pipeline"] and best["balanced_accuracy"]["mean"] == head["mean"]


def test_runs_page_filters_and_sorts(client, recorded):
    run = recorded.run
    page = client.get("/runs").text
    assert "demo" in page and run in page and "simulator" in page
    filtered = client.get("/runs", params={"q": run[:5]}).text  # "sim-e" or "3dc-p"
    assert f'href="/runs/{run}"' in filtered and 'href="/runs/demo"' not in filtered
    by_name = client.get("/runs", params={"sort": "name"}).text
    positions = {r: by_name.index(f'href="/runs/{r}"') for r in (run, "demo")}
    assert sorted(positions, key=positions.get) == sorted(positions)


def test_report_and_comparison(client, recorded):
    report = client.get("/runs/demo/report")
    assert report.status_code == 200 and "bmelearn report: demo" in report.text
    assert f"bmelearn report: {recorded.run}" in client.get(f"/runs/{recorded.run}/report").text
    page = client.get("/compare", params={"run": ["demo", recorded.run]}).text
    assert page.count("<tr>") >= 1 + 6 + 1  # header, demo 2 protocols x 3 pipelines, the other run 1 x 1
    assert "plotly-graph-div" in page and "/static/plotly.min.js" in page
    assert client.get("/static/plotly.min.js").headers["content-type"].startswith("text/javascript")
    # participants are not a sequence: markers side by side, not joined; names a clinician reads
    assert '"mode":"markers"' in page and "lines" not in re.findall(r'"mode":"([a-z+]+)"', page)[0]
    assert "Leave-one-subject-out \\u00b7 LDA" in page and "<td>Cross-session</td><td>random forest</td>" in page


def test_model_card_names_what_the_model_expects(client, recorded):
    card = client.get(f"/api/v1/models/{recorded.model}").json()
    assert card["signals"]["emg"]["fs"] == 1000.0 and card["signals"]["emg"]["channels"] == list(recorded.channels)
    assert list(card["signals"]) == ["emg"]
    accuracy = card["validated"]["cross_session"]["accuracy"]
    assert accuracy["ci_low"] < accuracy["mean"] < accuracy["ci_high"] and accuracy["mean"] > recorded.min_accuracy
    run = client.get(f"/api/v1/runs/{recorded.run}").json()
    assert run["metrics"][0]["accuracy"] == accuracy


def test_demo_model_card_page(client, shared_data_present):
    page = client.get("/models/demo/lda").text
    assert "1000 Hz" in page and "EMG1, EMG2" in page and "ACC_X" in page and "bmelearn 0." in page
    loso = client.get("/api/v1/models/demo/lda").json()["validated"]["loso"]["balanced_accuracy"]
    assert f"{100 * loso['mean']:.1f} ({100 * loso['ci_low']:.1f}–{100 * loso['ci_high']:.1f})" in page
    listed = {(m["run"], m["name"]) for m in client.get("/api/v1/models").json()}
    assert listed >= {("demo", "lda"), ("sim-emg", "lda")} and (("3dc-p1", "lda") in listed) == shared_data_present


def _upload(client, recorded, path=None, **data):
    path = recorded.path if path is None else path
    return client.post(f"/api/v1/models/{recorded.model}/predict", files={"files": (path.name, path.read_bytes())},
                       data=data)


def test_predict_upload_matches_the_saved_model(client, web_runs, recorded):
    response = _upload(client, recorded)
    assert response.status_code == 200, response.text
    body = response.json()
    path = recorded.path
    model = load_model(recorded.model_file(web_runs))
    expected = model.predict({"emg": read_signal(path.read_bytes(), path.name, "emg", 1000.0, model.signal)})
    assert body["n_windows"] == len(expected) == recorded.n_windows
    assert [w["predicted"] for w in body["windows"]] == list(expected["predicted"])
    np.testing.assert_allclose([w["confidence"] for w in body["windows"]], expected["confidence"], rtol=1e-12)
    assert body["windows"][10]["end"] == pytest.approx(1.2)
    assert sum(w["predicted"] == recorded.label for w in body["windows"]) >= recorded.min_correct


def test_simulated_upload_predicts_what_the_model_predicts_of_the_simulated_recording(client, web_runs,
                                                                                       simulated_emg_recording,
                                                                                       simulated_emg_file):
    """The text file holds the simulated samples exactly: the upload gives the model's predictions
    and probabilities of the simulated recording itself (up to rounding: the file's samples are laid
    out in memory otherwise), and a new 3 s trial of wrist flexion is recognised."""
    recording = simulated_emg_recording("session2", 0, "wrist flexion")
    path = simulated_emg_file("session2", 0, "wrist flexion")
    body = client.post("/api/v1/models/sim-emg/lda/predict", files={"files": (path.name, path.read_bytes())}).json()
    expected = load_model(web_runs / "sim-emg" / "models" / "lda.skops").predict({"emg": recording})
    assert body["classes"] == list(expected.filter(like="p:").columns.str[2:])
    assert [w["predicted"] for w in body["windows"]] == list(expected["predicted"])
    got = np.array([[w["probabilities"][c] for c in body["classes"]] for w in body["windows"]])
    np.testing.assert_allclose(got, expected.filter(like="p:").to_numpy(), rtol=1e-9, atol=1e-12)
    assert [w["start"] for w in body["windows"]] == pytest.approx(np.arange(29) * 0.1)
    assert (expected["predicted"] == "wrist flexion").sum() >= 22


def test_predict_command_gives_the_web_api_classes_window_for_window(client, web_runs, recorded, tmp_path):
    path, other = recorded.path, recorded.other
    by_api = _upload(client, recorded).json()
    model = recorded.model_file(web_runs)
    out = tmp_path / "predictions.csv"
    result = CliRunner().invoke(cli, ["predict", str(model), str(path), str(other), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    first = table[table["file"] == str(path)]
    assert list(first["predicted"]) == [w["predicted"] for w in by_api["windows"]]
    assert np.allclose(first["confidence"], [w["confidence"] for w in by_api["windows"]], rtol=1e-12)
    assert list(first["start"][:3]) == [0.0, 0.1, 0.2] and set(table["file"]) == {str(path), str(other)}
    second = table[table["file"] == str(other)]
    by_api = _upload(client, recorded, other).json()
    assert list(second["predicted"]) == [w["predicted"] for w in by_api["windows"]]


def test_predict_command_names_what_is_wrong(web_runs, recorded, tmp_path):
    model = web_runs / "demo" / "models" / "lda.skops"
    path = recorded.path
    result = CliRunner().invoke(cli, ["predict", str(model), f"emg={path}"])
    expected = f"{len(recorded.channels)} channels, but the model expects 8 emg channels"
    assert result.exit_code == 2 and expected in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["predict", str(model), str(path)])
    assert result.exit_code == 2 and "give each file as MODALITY=PATH" in result.output
    result = CliRunner().invoke(cli, ["predict", str(recorded.model_file(web_runs)), "missing.txt"])
    assert result.exit_code == 2 and "missing.txt: cannot read the file" in result.output
    (tmp_path / "x.skops").write_bytes(b"not a zip")
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "x.skops"), str(path)])
    assert result.exit_code == 2 and "x.skops" in result.output and "Traceback" not in result.output


def test_predict_array_gives_the_same_as_the_file(client, recorded):
    data = np.loadtxt(recorded.path, delimiter=",").T
    body = {"signals": {"emg": {"fs": 1000.0, "channels": list(recorded.channels), "data": data.tolist()}}}
    by_array = client.post(f"/api/v1/models/{recorded.model}/predict-array", json=body).json()
    by_file = _upload(client, recorded).json()
    assert by_array["n_windows"] == by_file["n_windows"] == recorded.n_windows
    assert [w["predicted"] for w in by_array["windows"]] == [w["predicted"] for w in by_file["windows"]]
    probabilities = [[[w["probabilities"][c] for c in body["classes"]] for w in body["windows"]] for body in (by_array, by_file)]
    np.testing.assert_allclose(*probabilities, rtol=1e-9, atol=1e-12)  # the same up to the memory layout's rounding


def test_header_columns_are_matched_by_name(client, recorded, tmp_path):
    """A header of the model's channel names, in another order, puts each column where it belongs;
    a header without one of them is refused, naming it."""
    rows = np.loadtxt(recorded.path, delimiter=",")
    order = np.arange(len(recorded.channels))[::-1]
    names = [recorded.channels[i] for i in order]
    named = tmp_path / "named.csv"
    named.write_text(",".join(names) + "\n" + "\n".join(",".join(repr(float(v)) for v in row[order]) for row in rows))
    plain, shuffled = _upload(client, recorded).json(), _upload(client, recorded, named).json()
    assert shuffled["n_windows"] == recorded.n_windows
    assert [w["predicted"] for w in shuffled["windows"]] == [w["predicted"] for w in plain["windows"]]
    np.testing.assert_allclose([w["confidence"] for w in shuffled["windows"]], [w["confidence"] for w in plain["windows"]])
    # the same columns with the header of the plain order would swap the channels: other predictions
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(",".join(recorded.channels) + "\n" + named.read_text().split("\n", 1)[1])
    assert [w["confidence"] for w in _upload(client, recorded, swapped).json()["windows"]] != \
        [w["confidence"] for w in plain["windows"]]
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(",".join(names[:-1] + ["FOO"]) + "\n" + named.read_text().split("\n", 1)[1])
    response = _upload(client, recorded, renamed)
    assert response.status_code == 422
    assert response.json()["detail"] == (f"renamed.csv: channels ['{names[-1]}'] that the model expects are missing "
                                         "(the file has ['FOO'] instead).")


def test_mismatched_recording_is_422_naming_the_mismatch(client, recorded):
    path = recorded.path
    response = client.post("/api/v1/models/demo/lda/predict", files={"files": (path.name, path.read_bytes())},
                           data={"modality": ["emg"]})
    assert response.status_code == 422
    assert response.json()["detail"] == (f"{path.name}: {len(recorded.channels)} channels, but the model expects "
                                         "8 emg channels (EMG1, EMG2, EMG3, EMG4, EMG5, EMG6, EMG7, EMG8).")
    response = _upload(client, recorded, fs=["2000"])
    assert response.status_code == 422 and "sampled at 2000 Hz, but the model expects emg at 1000 Hz" in response.text
    page = client.post("/predict", data={"model": "demo/lda"}, files={"file_emg": (path.name, path.read_bytes())})
    assert page.status_code == 422
    assert f"{len(recorded.channels)} channels, but the model expects 8 emg channels" in page.text


@pytest.mark.parametrize("url", [
    "/api/v1/runs/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/runs/%2E%2E",
    "/api/v1/runs/.demo.partial",
    "/api/v1/models/demo/..%2F..%2Frun",
    "/api/v1/models/demo/..%2Fmodels%2Flda",
    "/runs/..%2F3dc-p1/report",
    "/runs/%2Fetc/report",
    "/models/demo/%2E%2E%2Fconfig",
])
def test_path_traversal_is_404(client, url):
    assert client.get(url).status_code == 404


def test_token_is_required_when_configured(web_runs):
    with TestClient(create_app(web_runs, token=TOKEN)) as c:
        assert c.get("/api/v1/runs").status_code == 401
        assert c.get("/api/v1/runs", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        page = c.get("/runs")
        assert page.status_code == 401 and 'name="token"' in page.text
        assert c.post("/api/v1/models/sim-emg/lda/predict", files={"files": ("a.txt", b"1")}).status_code == 401
        assert c.get("/api/v1/runs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.post("/login", data={"token": "wrong"}).status_code == 401
        assert c.post("/login", data={"token": TOKEN}).status_code == 200  # redirected to /runs, with the cookie
        assert c.get("/runs").status_code == 200


def test_oversize_upload_is_413(web_runs, recorded):
    path = recorded.path
    assert len(path.read_bytes()) > 10_000
    with TestClient(create_app(web_runs, max_upload=10_000)) as c:
        response = c.post(f"/api/v1/models/{recorded.model}/predict", files={"files": (path.name, path.read_bytes())})
        assert response.status_code == 413

        def chunks():  # no Content-Length: the limit applies to the bytes as they arrive
            yield b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\n"
            for _ in range(100):
                yield b"1,2,3,4,5,6,7,8,9,10\n" * 20

        response = c.post(f"/api/v1/models/{recorded.model}/predict", content=chunks(),
                          headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert response.status_code == 413


def test_logs_carry_no_signal_values(client, caplog, recorded):
    rng = np.random.default_rng(1)
    data = np.round(rng.normal(size=(len(recorded.channels), 400)) * 1000 + 0.123456, 6)
    body = {"signals": {"emg": {"fs": 1000.0, "channels": list(recorded.channels), "data": data.tolist()}}}
    path = recorded.path
    with caplog.at_level(logging.DEBUG):
        assert client.post(f"/api/v1/models/{recorded.model}/predict-array", json=body).status_code == 200
        body["signals"]["emg"]["data"][4][7] = "x"  # not a number: 422
        assert client.post(f"/api/v1/models/{recorded.model}/predict-array", json=body).status_code == 422
        assert _upload(client, recorded).status_code == 200
        assert _upload(client, recorded, fs=["2000"]).status_code == 422
        assert client.post("/predict", data={"model": "demo/lda"},
                           files={"file_emg": (path.name, path.read_bytes())}).status_code == 422
    assert f"predicted 3 windows with {recorded.model}" in caplog.text
    assert f"predicted {recorded.n_windows} windows with {recorded.model}" in caplog.text
    assert not any(f"{v:.3f}"[:-1] in caplog.text for v in data.ravel()[:200])
    lines = path.read_text().splitlines()[:200]  # nor the uploaded file's lines and long values (simulated: all)
    assert not any(line in caplog.text for line in lines)
    assert not any(v in caplog.text for line in lines for v in line.split(",") if len(v) >= 8)


def test_a_long_prediction_blocks_no_page_and_shows_progress(client, monkeypatch, recorded):
    release = threading.Event()
    started = threading.Event()
    real = DeployableModel.predict
    n = recorded.n_windows

    def slow(model, recordings, progress):
        progress(0, n)
        started.set()
        assert release.wait(30)
        return real(model, recordings, progress)

    monkeypatch.setattr(DeployableModel, "predict", slow)
    path = recorded.path
    response = client.post("/predict", data={"model": recorded.model}, files={"file_emg": (path.name, path.read_bytes())},
                           follow_redirects=False)
    assert response.status_code == 303
    job = response.headers["location"]
    assert started.wait(10)
    assert client.get("/runs").status_code == 200  # other pages answer while the prediction runs
    waiting = client.get(job).text
    assert f"Predicting… 0 of {n} windows" in waiting and 'http-equiv="refresh"' in waiting
    release.set()
    for _ in range(100):
        page = client.get(job).text
        if 'id="summary"' in page:
            break
        threading.Event().wait(0.1)
    assert f"{n} windows predicted" in page and "plotly-graph-div" in page
    csv = client.get(f"{job}/predictions.csv")
    assert csv.text.splitlines()[0].startswith("window,start,end,predicted,confidence,p:")
    assert len(csv.text.splitlines()) == n + 1
    monkeypatch.undo()
    by_api = _upload(client, recorded).json()
    table = pd.read_csv(io.StringIO(csv.text))
    assert list(table["predicted"]) == [w["predicted"] for w in by_api["windows"]]


def test_serve_refuses_other_addresses_without_a_token(demo_runs, monkeypatch, tmp_path):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.delenv("BMELEARN_TOKEN", raising=False)
    runner = CliRunner()
    refused = runner.invoke(cli, ["serve", str(demo_runs), "--host", "0.0.0.0"])
    assert refused.exit_code == 2 and "needs a token" in refused.output and not calls
    short = tmp_path / "short"
    short.write_text("abc")
    assert runner.invoke(cli, ["serve", str(demo_runs), "--host", "0.0.0.0", "--token-file", str(short)]).exit_code == 2
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    served = runner.invoke(cli, ["serve", str(demo_runs), "--host", "0.0.0.0", "--token-file", str(token)])
    assert served.exit_code == 0, served.output
    assert calls == [{"host": "0.0.0.0", "port": 8000, "log_level": "info"}]
    assert runner.invoke(cli, ["serve", str(tmp_path / "none")]).exit_code == 2


def test_a_model_file_of_an_earlier_bmelearn_is_a_422_naming_why(demo_runs, tmp_path):
    """An earlier bmelearn saved the classifier alone: serving it says so instead of failing (simulated run)."""
    import shutil

    import skops.io as sio

    runs = tmp_path / "runs"
    shutil.copytree(demo_runs / "demo", runs / "old")
    path = runs / "old" / "models" / "lda.skops"
    sio.dump(load_model(path).estimator, path)
    with TestClient(create_app(runs)) as old:
        body = {"signals": {"emg": {"fs": 1000.0, "channels": [f"EMG{i}" for i in range(1, 9)], "data": [[0.0] * 300] * 8}}}
        response = old.post("/api/v1/models/old/lda/predict-array", json=body)
    assert response.status_code == 422 and "written by an earlier bmelearn" in response.json()["detail"]


def test_an_invalid_request_is_a_422_that_echoes_no_value(demo_runs, caplog):
    """The issue's probe: signal values (and NaN, which JSON cannot carry) sent where an object
    belongs must be refused without reaching the response or the log (simulated demo run)."""
    with TestClient(create_app(demo_runs)) as api, caplog.at_level(logging.DEBUG):
        response = api.post("/api/v1/models/demo/lda/predict-array", content=b'{"signals": {"emg": [111.25, NaN, 222.5]}}',
                            headers={"content-type": "application/json"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "signals", "emg"]
        typed = api.post("/api/v1/models/demo/lda/predict-array",
                         json={"signals": {"emg": {"fs": 1000, "channels": ["EMG1"], "data": [[333.75, "x"]]}}})
        assert typed.status_code == 422 and typed.json()["detail"][0]["loc"][-2:] == [0, 1]
        rate = api.post("/api/v1/models/demo/lda/predict-array", content=b'{"signals": {"emg": {"fs": NaN, '
                        b'"channels": ["EMG1"], "data": [[1.0]]}}}', headers={"content-type": "application/json"})
        assert rate.status_code == 422 and rate.json()["detail"][0]["loc"][-1] == "fs"
    for text in (response.text, typed.text, caplog.text):
        assert "111.25" not in text and "222.5" not in text and "333.75" not in text and "NaN" not in text


@pytest.mark.parametrize(("option", "value"), [("--port", "99999"), ("--port", "0"), ("--max-upload-mb", "-1"),
                                               ("--workers", "0")])
def test_serve_refuses_bad_settings_before_starting(demo_runs, option, value):
    result = CliRunner().invoke(cli, ["serve", str(demo_runs), option, value])
    assert result.exit_code == 2 and f"Invalid value for '{option}'" in result.output and "Serving" not in result.output


def test_values_too_large_to_compute_with_are_a_422(web_runs):
    """Rows of ±1e308 give infinite features: refused with a reason, not a server error (simulated run)."""
    rows = "\n".join(",".join(["1e308" if i % 2 else "-1e308"] * 6) for i in range(3000))
    with TestClient(create_app(web_runs)) as api:
        response = api.post("/api/v1/models/sim-emg/lda/predict", files={"files": ("huge.csv", rows.encode())})
    assert response.status_code == 422 and "are not finite numbers: the values are too large" in response.json()["detail"]


#: The simulated EMG run's data (one EMG file per model: the simulated uploads fit), the
#: optimistic protocol first and the new patient second, LDA without and with calibration.
CALIBRATED = {
    "name": "sim-cal", "seed": 0,
    "dataset": {"name": "simulator", "n_subjects": 2, "n_sessions": 2, "n_repetitions": 2, "duration": 1.5,
                "n_channels": 6, "seed": 5},
    "windows": {"length": 0.2, "step": 0.1}, "features": ["HTD"],
    "models": ["lda", {"name": "lda", "label": "lda-cal", "calibrate": "temperature"}],
    "protocols": [{"within_session": {"n_splits": 2}}, "loso"], "evaluation": {"n_boot": 200},
}


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A client of a runs folder holding ``sim-cal`` (:data:`CALIBRATED`) and ``sim-primary``, the
    same run of LDA alone whose config names within-session its primary protocol."""
    from bmelearn.runs.config import ExperimentConfig
    from bmelearn.runs.experiment import run

    root = tmp_path_factory.mktemp("calibrated-runs")
    run(ExperimentConfig.model_validate(CALIBRATED), root / "sim-cal")
    primary = CALIBRATED | {"name": "sim-primary", "models": ["lda"],
                            "evaluation": CALIBRATED["evaluation"] | {"primary": "within_session"}}
    run(ExperimentConfig.model_validate(primary), root / "sim-primary")
    with TestClient(create_app(root)) as c:
        yield c


def _row(page: str, run: str) -> str:
    """The runs page's table row of ``run``."""
    start = page.index(f'href="/runs/{run}"')
    return page[start:page.index("</tr>", start)]


def test_the_headline_is_the_new_patient_not_the_first_and_optimistic_protocol(calibrated):
    head = {r["id"]: r for r in calibrated.get("/api/v1/runs").json()}["sim-cal"]["headline"]
    assert head["protocol"] == "loso" and head["label"] == "Leave-one-subject-out: a new patient"
    metrics = calibrated.get("/api/v1/runs/sim-cal").json()["metrics"]
    best = {p: max((m for m in metrics if m["protocol"] == p), key=lambda m: m["balanced_accuracy"]["mean"])
            for p in ("within_session", "loso")}
    assert (best["loso"]["pipeline"], best["loso"]["balanced_accuracy"]["mean"]) == (head["pipeline"], head["mean"])
    assert best["within_session"]["balanced_accuracy"]["mean"] > head["mean"]  # the optimistic number is not shown
    row = _row(calibrated.get("/runs").text, "sim-cal")
    assert f"<strong>{100 * head['mean']:.1f}</strong>" in row and "Leave-one-subject-out: a new patient" in row
    assert f"{100 * best['within_session']['balanced_accuracy']['mean']:.1f}" not in row
    assert "Headline: <strong>Leave-one-subject-out: a new patient</strong>" in calibrated.get("/runs/sim-cal").text


def test_the_primary_protocol_of_the_config_is_the_headline(calibrated):
    head = {r["id"]: r for r in calibrated.get("/api/v1/runs").json()}["sim-primary"]["headline"]
    assert head["protocol"] == "within_session" and head["label"] == "Within-session: the same session"
    within = next(m for m in calibrated.get("/api/v1/runs/sim-primary").json()["metrics"] if m["protocol"] == "within_session")
    assert head["mean"] == within["balanced_accuracy"]["mean"]
    assert "Within-session: the same session" in _row(calibrated.get("/runs").text, "sim-primary")


def test_results_hold_each_models_calibration_error_with_its_interval(calibrated):
    rows = pd.DataFrame(calibrated.get("/api/v1/runs/sim-cal/results", params={"metric": "ece"}).json())
    assert set(zip(rows["protocol"], rows["pipeline"], rows["subject"], strict=True)) == {
        (p, m, s) for p in ("within_session", "loso") for m in ("lda", "lda-cal") for s in ("1", "2")}
    assert (rows["ci_low"] <= rows["value"]).all() and (rows["value"] <= rows["ci_high"]).all()
    assert rows["value"].between(0, 1).all()


def _job_page(client, model: str, path) -> str:
    response = client.post("/predict", data={"model": model}, files={"file_emg": (path.name, path.read_bytes())},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    for _ in range(200):
        page = client.get(response.headers["location"]).text
        if 'id="summary"' in page:
            return page
        threading.Event().wait(0.05)
    raise AssertionError("the prediction did not finish")


def test_uncalibrated_confidence_is_shown_as_a_score_and_calibrated_as_a_probability(calibrated, simulated_emg_file):
    path = simulated_emg_file("session2", 0, "wrist flexion")
    for model, calibrated_model, words in (("lda", False, "score (not calibrated)"),
                                           ("lda-cal", True, "probability (calibrated)")):
        card = calibrated.get(f"/api/v1/models/sim-cal/{model}").json()
        page = calibrated.get(f"/models/sim-cal/{model}").text
        assert card["calibrated"] is calibrated_model and words in page
        ece = card["validated"]["loso"]["ece"]  # how far the probabilities are from the truth on a new patient
        assert f"{100 * ece['mean']:.1f} ({100 * ece['ci_low']:.1f}–{100 * ece['ci_high']:.1f})" in page
        body = calibrated.post(f"/api/v1/models/sim-cal/{model}/predict",
                               files={"files": (path.name, path.read_bytes())}).json()
        assert body["calibrated"] is calibrated_model and 0 < body["windows"][0]["confidence"] <= 1
        job = _job_page(calibrated, f"sim-cal/{model}", path)
        assert f"<th>predicted</th><th>{words}</th>" in job and f"{words} %{{customdata[2]" in job
        assert ('id="not-calibrated"' in job) is not calibrated_model and "<th>confidence</th>" not in job
