"""The README's Python quick start must run as written (on the real 3DC data)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_quick_start_runs(shared_data, capsys):
    code = re.search(r"## Quick start from Python\s+```python\n(.*?)```", README.read_text(), re.S).group(1)
    code = code.replace("../shared/data/3dc", str(shared_data / "3dc"))
    exec(compile(code, "README quick start", "exec"), {})
    printed = capsys.readouterr().out
    mean = float(re.search(r"'mean': ([0-9.]+)", printed).group(1))
    # participants 1 and 2 with a 50 Hz notch: close to the unfiltered 90.3 and 81.3 %
    assert 0.80 < mean < 0.90
