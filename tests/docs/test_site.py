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
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # Agg in a kernel: plt.show() shows nothing
    env |= {"NO_MKDOCS_2_WARNING": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-8000:]
    return out


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def printed(html: str) -> str:
    """What the page's code cells printed (their text outputs), as text."""
    return text(" ".join(re.findall(r'data-mime-type="text/plain"[^>]*>\s*<pre>(.*?)</pre>', html, re.DOTALL)))


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
        shown = (ROOT / "docs" / "tutorials" / f"{name}.py").read_text(encoding="utf-8").count("plt.show()")
        assert html.count('src="data:image/png') >= shown > 0, name  # every figure is on the page


def test_the_perceptron_table_is_printed_by_its_code(site):
    output = printed(page(site, "tutorials/01_perceptron"))
    rows = re.findall(r"\b([01]) ([01]) (-?\d\.\d+) (\d\.\d+) ([01])\b", output.replace("−", "-"))
    assert [(h, p, prediction) for _, _, h, p, prediction in rows[:4]] == [
        ("-0.5", "0.38", "0"), ("-1.5", "0.18", "0"), ("0.5", "0.62", "1"), ("-0.5", "0.38", "0")]


def test_the_api_reference_is_generated_from_the_docstrings(site):
    signals = text(page(site, "reference/signals"))
    assert "RecordingSet" in signals and "bmelearn.signals.recording" in signals
    evaluation = page(site, "reference/evaluation")
    assert "bca_interval" in evaluation and ":func:" not in evaluation and ":data:" not in evaluation
    assert "LeaveOneSubjectOut" in text(page(site, "reference/evaluation"))


def test_the_feature_catalogue_and_architecture_are_pages(site):
    assert "HTD" in text(page(site, "features"))
    assert "SignalPipeline" in text(page(site, "architecture"))
