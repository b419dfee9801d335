"""The ``bmelearn`` program as a shell runs it (``bmelearn.cli:entry``): its output reaches a
pipe whole, its exit codes are those of the command, and a run that started worker processes
ends them and exits cleanly."""

from __future__ import annotations

import subprocess
import sys

from bmelearn import __version__
from bmelearn.runs.config import DEMO_CONFIG

PROGRAM = [sys.executable, "-c", "from bmelearn.cli import entry; entry()"]


def bmelearn(*arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*PROGRAM, *arguments], capture_output=True, text=True, timeout=timeout)


def test_output_reaches_a_pipe_and_the_exit_code_is_the_commands():
    done = bmelearn("--version")
    assert (done.returncode, done.stdout) == (0, f"{__version__}\n")  # flushed before the prompt exit
    example = bmelearn("example")
    assert (example.returncode, example.stdout) == (0, DEMO_CONFIG.read_text(encoding="utf-8"))  # several kB, whole
    assert bmelearn("no-such-command").returncode == 2  # a usage error, as Click gives it


def test_a_user_error_is_exit_code_2_with_the_message_and_no_traceback(tmp_path):
    done = bmelearn("run", str(tmp_path / "missing.yaml"))
    assert done.returncode == 2
    assert "missing.yaml" in done.stderr and "Traceback" not in done.stderr


def test_a_run_on_worker_processes_stops_them_and_exits_cleanly(tmp_path):
    done = bmelearn("run", "--out", str(tmp_path / "run"), "--backend", "processes", "--workers", "2",
                    "--set", "dataset.n_subjects=2", "--set", "dataset.n_repetitions=2", "--set", "dataset.duration=1.0",
                    "--set", "models=[lda]", "--set", "protocols=[cross_session]", "--set", "evaluation.n_boot=20",
                    timeout=300)  # the pipes close only when every process holding them has exited
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "report.html").is_file()
    assert "leaked" not in done.stderr and "Traceback" not in done.stderr


def test_under_a_profiler_the_program_exits_normally_so_the_profile_is_written(tmp_path):
    profile = tmp_path / "run.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "bmelearn.cli", "--version"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == f"{__version__}\n"
    assert profile.stat().st_size > 0


def test_a_run_imports_with_the_collector_paused_and_restarts_it():
    # in a fresh process: what the imports made is set aside (gc.freeze), and the collector is as it was after
    code = ("import gc; from bmelearn import cli\n"
            "with cli._imports_kept():\n"
            "    paused = not gc.isenabled()\n"
            "    import bmelearn.runs.experiment\n"
            "frozen, enabled = gc.get_freeze_count(), gc.isenabled()\n"
            "with cli._imports_kept():\n"
            "    import bmelearn.runs.experiment\n"  # imported already: nothing more set aside
            "gc.disable()\n"
            "try:\n"
            "    with cli._imports_kept():\n"
            "        raise ImportError('no such module')\n"
            "except ImportError:\n"
            "    pass\n"
            "print(paused, enabled, frozen > 100_000, gc.get_freeze_count() == frozen, gc.isenabled())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True", "True", "True", "False"], done.stderr[-2000:]
