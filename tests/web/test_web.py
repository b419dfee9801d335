"""The dashboard and the JSON API, in process (FastAPI's test client)."""

import logging
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
def client(served_runs):
    with TestClient(create_app(served_runs)) as c:
        yield c


def test_runs_are_listed_with_their_headline_interval(client):
    runs = {r["id"]: r for r in client.get("/api/v1/runs").json()}
    assert set(runs) == {"demo", "3dc-p1"}
    demo = runs["demo"]
    assert demo["dataset"] == "simulator" and demo["protocols"] == ["cross_session", "loso"]
    assert demo["models"] == ["lda", "rf", "svm"]
    head = demo["headline"]
    assert head["protocol"] == "cross_session" and head["metric"] == "balanced_accuracy"
    assert head["ci_low"] <= head["mean"] <= head["ci_high"]
    detail = client.get("/api/v1/runs/demo").json()
    best = max((m for m in detail["metrics"] if m["protocol"] == "cross_session"),
               key=lambda m: m["balanced_accuracy"]["mean"])
    assert best["pipeline"] == head["pipeline"] and best["balanced_accuracy"]["mean"] == head["mean"]


def test_runs_page_filters_and_sorts(client):
    page = client.get("/runs").text
    assert "demo" in page and "3dc-p1" in page and "simulator" in page
    filtered = client.get("/runs", params={"q": "3dc"}).text
    assert 'href="/runs/3dc-p1"' in filtered and 'href="/runs/demo"' not in filtered
    by_name = client.get("/runs", params={"sort": "name"}).text
    assert by_name.index('href="/runs/3dc-p1"') < by_name.index('href="/runs/demo"')


def test_report_and_comparison(client):
    report = client.get("/runs/demo/report")
    assert report.status_code == 200 and "bmelearn report: demo" in report.text
    page = client.get("/compare", params={"run": ["demo", "3dc-p1"]}).text
    assert page.count("<tr>") >= 1 + 6 + 1  # header, demo 2 protocols x 3 pipelines, 3dc 1 x 1
    assert "plotly-graph-div" in page and "/static/plotly.min.js" in page
    assert client.get("/static/plotly.min.js").headers["content-type"].startswith("text/javascript")


def test_model_card_names_what_the_model_expects(client):
    card = client.get("/api/v1/models/3dc-p1/lda").json()
    assert card["signals"]["emg"]["fs"] == 1000.0 and len(card["signals"]["emg"]["channels"]) == 10
    accuracy = card["validated"]["cross_session"]["accuracy"]
    assert accuracy["ci_low"] < accuracy["mean"] < accuracy["ci_high"] and accuracy["mean"] > 0.85
    run = client.get("/api/v1/runs/3dc-p1").json()
    assert run["metrics"][0]["accuracy"] == accuracy
    page = client.get("/models/demo/lda").text
    assert "1000 Hz" in page and "EMG1, EMG2" in page and "ACC_X" in page and "bmelearn 0." in page
    loso = client.get("/api/v1/models/demo/lda").json()["validated"]["loso"]["balanced_accuracy"]
    assert f"{100 * loso['mean']:.1f} ({100 * loso['ci_low']:.1f}–{100 * loso['ci_high']:.1f})" in page
    assert {(m["run"], m["name"]) for m in client.get("/api/v1/models").json()} >= {("demo", "lda"), ("3dc-p1", "lda")}


def test_predict_upload_matches_the_saved_model(client, served_runs, threedc_file):
    path = threedc_file()
    response = client.post("/api/v1/models/3dc-p1/lda/predict", files={"files": (path.name, path.read_bytes())})
    assert response.status_code == 200, response.text
    body = response.json()
    model = load_model(served_runs / "3dc-p1" / "models" / "lda.skops")
    expected = model.predict({"emg": read_signal(path.read_bytes(), path.name, "emg", 1000.0, model.signal)})
    assert body["n_windows"] == len(expected) == 47
    assert [w["predicted"] for w in body["windows"]] == list(expected["predicted"])
    assert body["windows"][10]["end"] == pytest.approx(1.2)


def test_predict_command_gives_the_web_api_classes_window_for_window(client, served_runs, threedc_file, tmp_path):
    path = threedc_file()
    by_api = client.post("/api/v1/models/3dc-p1/lda/predict", files={"files": (path.name, path.read_bytes())}).json()
    model = served_runs / "3dc-p1" / "models" / "lda.skops"
    out = tmp_path / "predictions.csv"
    result = CliRunner().invoke(cli, ["predict", str(model), str(path), str(threedc_file("test", 1, 5)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    first = table[table["file"] == str(path)]
    assert list(first["predicted"]) == [w["predicted"] for w in by_api["windows"]]
    assert np.allclose(first["confidence"], [w["confidence"] for w in by_api["windows"]], rtol=1e-12)
    assert list(first["start"][:3]) == [0.0, 0.1, 0.2] and set(table["file"]) == {str(path), str(threedc_file("test", 1, 5))}


def test_predict_command_names_what_is_wrong(served_runs, threedc_file, tmp_path):
    model = served_runs / "demo" / "models" / "lda.skops"
    path = threedc_file()
    result = CliRunner().invoke(cli, ["predict", str(model), f"emg={path}"])
    assert result.exit_code == 2 and "10 channels, but the model expects 8 emg channels" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["predict", str(model), str(path)])
    assert result.exit_code == 2 and "give each file as MODALITY=PATH" in result.output
    result = CliRunner().invoke(cli, ["predict", str(served_runs / "3dc-p1" / "models" / "lda.skops"), "missing.txt"])
    assert result.exit_code == 2 and "missing.txt: cannot read the file" in result.output
    (tmp_path / "x.skops").write_bytes(b"not a zip")
    result = CliRunner().invoke(cli, ["predict", str(tmp_path / "x.skops"), str(path)])
    assert result.exit_code == 2 and "x.skops" in result.output and "Traceback" not in result.output


def test_predict_array_gives_the_same_as_the_file(client, threedc_file):
    path = threedc_file()
    data = np.loadtxt(path, delimiter=",").T
    channels = [f"EMG{i + 1}" for i in range(10)]
    body = {"signals": {"emg": {"fs": 1000.0, "channels": channels, "data": data.tolist()}}}
    by_array = client.post("/api/v1/models/3dc-p1/lda/predict-array", json=body).json()
    by_file = client.post("/api/v1/models/3dc-p1/lda/predict", files={"files": (path.name, path.read_bytes())}).json()
    assert [w["predicted"] for w in by_array["windows"]] == [w["predicted"] for w in by_file["windows"]]


def test_mismatched_recording_is_422_naming_the_mismatch(client, threedc_file):
    path = threedc_file()
    response = client.post("/api/v1/models/demo/lda/predict", files={"files": (path.name, path.read_bytes())},
                           data={"modality": ["emg"]})
    assert response.status_code == 422
    assert response.json()["detail"] == (f"{path.name}: 10 channels, but the model expects 8 emg channels "
                                         "(EMG1, EMG2, EMG3, EMG4, EMG5, EMG6, EMG7, EMG8).")
    response = client.post("/api/v1/models/3dc-p1/lda/predict", files={"files": (path.name, path.read_bytes())},
                           data={"fs": ["2000"]})
    assert response.status_code == 422 and "sampled at 2000 Hz, but the model expects emg at 1000 Hz" in response.text
    page = client.post("/predict", data={"model": "demo/lda"}, files={"file_emg": (path.name, path.read_bytes())})
    assert page.status_code == 422 and "10 channels, but the model expects 8 emg channels" in page.text


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


def test_token_is_required_when_configured(served_runs):
    with TestClient(create_app(served_runs, token=TOKEN)) as c:
        assert c.get("/api/v1/runs").status_code == 401
        assert c.get("/api/v1/runs", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
        page = c.get("/runs")
        assert page.status_code == 401 and 'name="token"' in page.text
        assert c.post("/api/v1/models/3dc-p1/lda/predict", files={"files": ("a.txt", b"1")}).status_code == 401
        assert c.get("/api/v1/runs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.post("/login", data={"token": "wrong"}).status_code == 401
        assert c.post("/login", data={"token": TOKEN}).status_code == 200  # redirected to /runs, with the cookie
        assert c.get("/runs").status_code == 200


def test_oversize_upload_is_413(served_runs, threedc_file):
    path = threedc_file()
    with TestClient(create_app(served_runs, max_upload=10_000)) as c:
        response = c.post("/api/v1/models/3dc-p1/lda/predict", files={"files": (path.name, path.read_bytes())})
        assert response.status_code == 413

        def chunks():  # no Content-Length: the limit applies to the bytes as they arrive
            yield b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\n"
            for _ in range(100):
                yield b"1,2,3,4,5,6,7,8,9,10\n" * 20

        response = c.post("/api/v1/models/3dc-p1/lda/predict", content=chunks(),
                          headers={"Content-Type": "multipart/form-data; boundary=x"})
        assert response.status_code == 413


def test_logs_carry_no_signal_values(client, caplog):
    rng = np.random.default_rng(1)
    data = np.round(rng.normal(size=(10, 400)) * 1000 + 0.123456, 6)
    body = {"signals": {"emg": {"fs": 1000.0, "channels": [f"EMG{i + 1}" for i in range(10)], "data": data.tolist()}}}
    with caplog.at_level(logging.DEBUG):
        assert client.post("/api/v1/models/3dc-p1/lda/predict-array", json=body).status_code == 200
        body["signals"]["emg"]["data"][4][7] = "x"  # not a number: 422
        assert client.post("/api/v1/models/3dc-p1/lda/predict-array", json=body).status_code == 422
    assert "predicted 3 windows with 3dc-p1/lda" in caplog.text
    assert not any(f"{v:.3f}"[:-1] in caplog.text for v in data.ravel()[:200])


def test_a_long_prediction_blocks_no_page_and_shows_progress(client, monkeypatch, threedc_file):
    release = threading.Event()
    started = threading.Event()
    real = DeployableModel.predict

    def slow(model, recordings, progress):
        progress(0, 47)
        started.set()
        assert release.wait(30)
        return real(model, recordings, progress)

    monkeypatch.setattr(DeployableModel, "predict", slow)
    path = threedc_file()
    response = client.post("/predict", data={"model": "3dc-p1/lda"}, files={"file_emg": (path.name, path.read_bytes())},
                           follow_redirects=False)
    assert response.status_code == 303
    job = response.headers["location"]
    assert started.wait(10)
    assert client.get("/runs").status_code == 200  # other pages answer while the prediction runs
    waiting = client.get(job).text
    assert "Predicting… 0 of 47 windows" in waiting and 'http-equiv="refresh"' in waiting
    release.set()
    for _ in range(100):
        page = client.get(job).text
        if 'id="summary"' in page:
            break
        threading.Event().wait(0.1)
    assert "47 windows predicted" in page and "plotly-graph-div" in page
    csv = client.get(f"{job}/predictions.csv")
    assert csv.text.splitlines()[0].startswith("window,start,end,predicted,confidence,p:")
    assert len(csv.text.splitlines()) == 48


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
