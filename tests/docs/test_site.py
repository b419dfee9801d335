"""The documentation site builds with warnings as errors (``mkdocs build --strict``), executing
every tutorial, whose own asserts check their numbers; the pages are then read for what a
reader must find on them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs_jupyter", reason="the documentation tools: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted(p.stem for p in (ROOT / "docs" / "tutorials").glob("*.py"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-8000:]
    return out


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_page_of_the_navigation_is_built(site):
    nav = re.findall(r":\s*([\w/.-]+\.(?:md|py))\s*$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.MULTILINE)
    assert len(nav) >= 30
    for source in nav:
        built = Path(source).with_suffix("")
        built = built.parent if built.name == "index" else built
        assert (site / built / "index.html").is_file(), source


def test_six_tutorials_run_and_show_their_output(site):
    assert TUTORIALS == ["01_perceptron", "02_xor_backprop", "03_activations_optimizers", "04_heart_risk",
                         "05_convolution", "06_emg_classifier"]
    for name in TUTORIALS:
        html = page(site, f"tutorials/{name}")
        assert "jp-OutputArea" in html, name  # executed: its cells have outputs
        assert "Traceback" not in text(html), name
        assert "What to read next" in text(html), name


def test_the_perceptron_table_is_on_its_page(site):
    shown = text(page(site, "tutorials/01_perceptron"))
    for h, p in [("-0.5", "0.38"), ("-1.5", "0.18"), ("0.5", "0.62")]:
        assert h in shown and p in shown


def test_the_api_reference_is_generated_from_the_docstrings(site):
    signals = text(page(site, "reference/signals"))
    assert "RecordingSet" in signals and "bmelearn.signals.recording" in signals
    evaluation = page(site, "reference/evaluation")
    assert "bca_interval" in evaluation and ":func:" not in evaluation and ":data:" not in evaluation
    assert "LeaveOneSubjectOut" in text(page(site, "reference/evaluation"))


def test_the_feature_catalogue_and_architecture_are_pages(site):
    assert "HTD" in text(page(site, "features"))
    assert "SignalPipeline" in text(page(site, "architecture"))
