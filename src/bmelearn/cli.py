"""The ``bmelearn`` command."""

from __future__ import annotations

import atexit
import gc
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bmelearn import __version__
from bmelearn.errors import BmeError, ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from bmelearn.evaluation.control import Decisions
    from bmelearn.serving import DeployableModel
    from bmelearn.web.live import LiveFeed

app = typer.Typer(help="Machine learning on biomedical signals: raw files to a validated classifier and a report.",
                  no_args_is_help=True, rich_markup_mode="markdown")
console = Console(stderr=True)


def _print_version(asked: bool) -> None:
    if asked:
        print(__version__)
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                               help="Print the bmelearn version and exit.")] = False) -> None:
    """Machine learning on biomedical signals: raw files to a validated classifier and a report."""


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(help="Experiment YAML file; omit it to run the demo on the built-in simulator.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder to write (default: runs/NAME-DATE-TIME).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a config value: key.path=value (repeatable).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the run folder if it exists.")] = False,
    backend: Annotated[str | None, typer.Option(help="Where the work runs: auto (default: in this process, or on local worker processes where that pays), sequential, processes or dask.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local processes, or Dask workers of a local cluster (default: "
                                                     "all cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, tcp://HOST:8786 (implies --backend "
                                                       "dask).")] = None,
    profile: Annotated[bool, typer.Option(help="Print where the time and memory went, stage by stage (also in "
                                               "run.json).")] = False,
) -> None:
    """Run an experiment end to end and write its run folder (results, summary, models, report.html).

    An interrupted run resumes from its completed fits when the same command is run again.

    The experiment file names a dataset (bmelearn datasets), preprocessing steps (bmelearn list
    steps), windows, features (bmelearn list features), models (bmelearn list models) and
    protocols (bmelearn list protocols); bmelearn example prints an annotated one."""
    with _imports_kept():
        from bmelearn.models.deep import training_progress
        from bmelearn.runs.config import load_config
        from bmelearn.runs.experiment import run as run_experiment

    try:
        execution = {"backend": "dask" if scheduler and backend is None else backend, "workers": workers,
                     "scheduler": scheduler}
        cfg = load_config(config, [*(set_ or []), *(f"execution.{k}={v}" for k, v in execution.items() if v is not None)])
        folder = out or Path("runs") / f"{cfg.name}-{datetime.now():%Y%m%d-%H%M%S}"
        with StageProgress(console) as progress, training_progress(progress.epoch):
            result = run_experiment(cfg, folder, progress, overwrite=overwrite,
                                    announce=lambda message: console.print(message, highlight=False))
    except BmeError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    _print_summary(result.summary, cfg.evaluation.confidence, result.positive, cfg.evaluation.task == "regression")
    if profile:
        _print_stages(result.folder)
    console.print(f"Run folder: [bold]{result.folder}[/]   report: {result.folder / 'report.html'}")


@contextmanager
def _imports_kept() -> Iterator[None]:
    """Import inside the block with Python's cyclic garbage collector paused, then set aside for
    good what the imports made (:func:`gc.freeze`): modules live as long as the process, yet every
    full collection walks them. Importing scikit-learn, SciPy and pandas for a run otherwise triggers
    five full collections (0.36 s of its 1.9 s), and each full collection later in the run walks
    them again (0.6 s of a 22-participant 3DC run's 10 s, 0.06 s with them set aside). What the
    process held before is set aside too, garbage included, for its life (no collection first:
    that would cost what this saves); nothing is set aside when nothing was imported (a second
    run in one process, as in the tests)."""
    enabled, modules = gc.isenabled(), len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules:
            gc.freeze()
        if enabled:
            gc.enable()


def _print_stages(folder: Path) -> None:
    """The wall time and peak memory of each stage of the run in ``folder`` (from its run.json)."""
    from bmelearn.runs import folder as run_folder

    stages = run_folder.read_json(folder, run_folder.RUN)[run_folder.RUN_STAGES]
    total = sum(s["seconds"] for s in stages)
    table = Table(title="Where the time went (memory: the run's processes together, peak during the stage)")
    for column in ("stage", "seconds", "% of the run", "peak memory (MB)"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for s in stages:
        table.add_row(s["stage"], f"{s['seconds']:.2f}", f"{100 * s['seconds'] / total:.0f}", f"{s['peak_mb']:.0f}")
    table.add_row("total", f"{total:.2f}", "100", f"{max(s['peak_mb'] for s in stages):.0f}", style="bold")
    Console().print(table)


class StageProgress:
    """A run's progress, ``progress(stage, done, total)``: on a terminal a bar per stage (the
    stage is the text before ':'), with the networks' epochs below; otherwise (output piped to a
    file) one line per stage when it ends, with what it did and its time."""

    def __init__(self, out: Console):
        self.out = out
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=out, transient=True) if out.is_terminal else None
        self.stage: str | None = None
        self.task = self.epochs = None

    def __enter__(self) -> StageProgress:
        if self.bar is not None:
            self.bar.start()
            self.epochs = self.bar.add_task("", total=None, visible=False)
        return self

    def __exit__(self, *failed) -> None:
        if failed[0] is None:
            self._end_stage()
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        name = stage.split(":")[0]
        if name != self.stage:
            self._end_stage()
            self.stage, self.started = name, time.perf_counter()
            if self.bar is not None:
                if self.task is not None:
                    self.bar.remove_task(self.task)
                self.task = self.bar.add_task(stage, total=total if total > 1 else None)
        self.done, self.total = done, total
        if self.bar is not None:
            self.bar.update(self.task, description=stage, completed=done)
            self.bar.update(self.epochs, visible=False)

    def epoch(self, report: dict) -> None:
        """Show a network's epoch (from :func:`bmelearn.models.deep.training_progress`)."""
        if self.bar is None:
            return
        scores = f"loss {report['train_loss']:.3f}" + (
            f" · validation accuracy {report['valid_acc']:.1%}" if "valid_acc" in report else "")
        self.bar.update(self.epochs, description=f"  {report['network']} {report['stage'].replace('_', '-')}: {scores}",
                        completed=report["epoch"], total=report["max_epochs"], visible=True)

    def _end_stage(self) -> None:
        if self.stage is None or self.bar is not None:
            return
        count = f"{self.total} done, " if self.total > 1 else ""
        self.out.print(f"{self.stage}: {count}{time.perf_counter() - self.started:.1f} s", highlight=False)


def _print_summary(summary: dict, confidence: float, positive: str | None, regression: bool = False) -> None:
    from bmelearn.report.text import model_label, protocol_label

    if regression:  # values in their own units, three significant digits
        from bmelearn.evaluation.regression import REGRESSION_METRICS

        metrics, columns = list(REGRESSION_METRICS), [entry.metadata["label"] for entry in REGRESSION_METRICS.values()]
        said = "{:.3g}".format
    else:  # shares, in percent
        metrics = ["accuracy", "balanced_accuracy"] + ([f"sensitivity:{positive}", f"specificity:{positive}"] if positive else [])
        columns, said = [f"{m.replace('_', ' ')} %" for m in metrics], lambda value: f"{100 * value:.1f}"
    table = Table(title=f"Mean over subjects ({confidence:.0%} confidence interval)")
    for column in ("evaluation", "model", *columns):
        table.add_column(column)
    for protocol, pipelines in summary.items():
        for pipeline, values in pipelines.items():
            cells = [f"{said(m['mean'])} ({said(m['ci_low'])}–{said(m['ci_high'])})" if (m := values.get(name)) else "–"
                     for name in metrics]
            table.add_row(protocol_label(protocol), model_label(pipeline), *cells)
    Console().print(table)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model file written by bmelearn run: RUN_FOLDER/models/NAME.skops.")],
    files: Annotated[list[str], typer.Argument(help="Recordings: numeric text, one sample per line, one column per "
                                                    "channel (a header of channel names is matched by name), or EDF/BDF, C3D, XDF or TRC "
                                                    "(signals matched by label). For a model of several signals, "
                                                    "MODALITY=PATH for each.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV file to write (default: standard output).")] = None,
    fs: Annotated[list[str] | None, typer.Option(help="Sampling rate of the files in Hz (default: the model's): HZ "
                                                      "for every file, or MODALITY=HZ (repeatable).")] = None,
) -> None:
    """Predict every window of recordings with a saved model: its class, confidence and time.

    The model file holds the whole signal pipeline (channels, preprocessing, windows, features),
    so the windows are cut and classified exactly as in training and in the web service."""
    import pandas as pd

    from bmelearn.serving import from_files, load_model

    try:
        fitted = load_model(model)
        recordings = from_files(fitted.signal, files, fs or [])
        tables = [fitted.predict(signals).assign(file=name) for name, signals in recordings.items()]
    except BmeError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    table = pd.concat(tables, ignore_index=True)
    table = table[["file", *table.columns.drop("file")]]
    if out is None:
        print(table.to_csv(index=False), end="")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        console.print(f"{len(table)} windows of {len(tables)} recording(s) predicted: {out}")
    if fitted.regression:
        for name, values in table.groupby("file", sort=False)["predicted"]:
            console.print(f"{name}: predicted value mean {values.mean():.4g} (from {values.min():.4g} to {values.max():.4g})",
                          highlight=False, soft_wrap=True)
        return
    for name, counts in table.groupby("file", sort=False)["predicted"].value_counts(sort=False).groupby(level=0):
        console.print(f"{name}: " + ", ".join(f"{label} {n}" for (_, label), n in counts.items()), highlight=False,
                      soft_wrap=True)
    if not fitted.calibrated:
        console.print("confidence is the model's score, not a calibrated probability (a model trained with "
                      "calibrate: temperature in its experiment file gives one).", highlight=False, soft_wrap=True)


@app.command()
def online(
    model: Annotated[Path, typer.Argument(help="Model file written by bmelearn run: RUN_FOLDER/models/NAME.skops (its "
                                               "preprocessing causal: bandpass: {causal: true}).")],
    lsl: Annotated[str, typer.Option("--lsl", help="Name of the LSL stream to decide.")],
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")] = None,
    log: Annotated[Path | None, typer.Option(help="Write every decision to this CSV or Parquet file.")] = None,
    vote: Annotated[int | None, typer.Option(help="Decide by the majority of the last VOTE windows' classes "
                                                  "(default: the model's evaluation.control, else 1).")] = None,
    reject_below: Annotated[float | None, typer.Option(help="No decision when the winner's probability is below this "
                                                             "(calibrated models only).")] = None,
    debounce: Annotated[int | None, typer.Option(help="Change the output only once a new decision has lasted DEBOUNCE "
                                                      "windows in a row.")] = None,
    udp: Annotated[str | None, typer.Option(help="Also send each decision as a UDP datagram "
                                                 "'DECISION,CONFIDENCE,WINDOW,VELOCITY' to HOST:PORT (a game engine, a "
                                                 "device controller).")] = None,
    page: Annotated[int | None, typer.Option(help="Show the decoding live on http://127.0.0.1:PAGE/live (the signal, "
                                                  "the decision, the delays), beside the dashboard of the model's runs.",
                                             min=1, max=65535)] = None,
) -> None:
    """Decide a live Lab Streaming Layer stream with a saved model, window by window, as offline.

    Each decision is published as a marker on the LSL stream NAME-decisions as soon as its
    window is complete; its delay from the window's last sample is measured and summarised,
    with the whole controller delay it makes."""
    from dataclasses import replace
    from functools import partial

    from bmelearn.serving import load_model
    from bmelearn.serving.lsl import run_online
    from bmelearn.serving.online import model_rule

    try:
        host, _, port = (udp or "").rpartition(":")
        if udp is not None and not (host and port.isdecimal()):
            raise ConfigError(f"--udp: {udp!r} is not HOST:PORT, e.g. 127.0.0.1:5005.")
        fitted = load_model(model)
        asked = {"vote": vote, "reject_below": reject_below, "debounce": debounce}
        rule = replace(model_rule(fitted), **{k: v for k, v in asked.items() if v is not None})
        feed = None if page is None else _live_page(fitted, lsl, page, model)
        table = run_online(fitted, lsl, duration, log, udp=(host, int(port)) if udp else None, rule=rule, watch=feed,
                           say=partial(console.print, highlight=False, soft_wrap=True))
        if feed is not None:
            time.sleep(LIVE_LINGER_S)  # the page's next update says the run has ended
    except BmeError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("Stopped" + (f"; the decisions so far are in {log}." if log else "."), highlight=False)
        raise typer.Exit(130) from None
    if table.empty:
        console.print(f"No decision: the stream {lsl!r} sent less than one window.", highlight=False)
        return
    console.print(controller_delay(table, fitted.signal.length, fitted.signal.step, rule) + (f" Log: {log}" if log else ""),
                  highlight=False, soft_wrap=True)
    console.print(", ".join(f"{label or 'no decision'} {n}" for label, n in table["decision"].value_counts(sort=False).items()),
                  highlight=False, soft_wrap=True)
    faults = table.attrs
    if faults["dropped"] or faults["pauses"] or faults["clock_jumps"] or faults["off_rate"]:
        console.print(f"The stream dropped {faults['dropped']} sample(s), paused {len(faults['pauses'])} time(s), its clock "
                      f"jumped {len(faults['clock_jumps'])} time(s) and its rate was off {len(faults['off_rate'])} time(s).",
                      highlight=False)


def controller_delay(table: pd.DataFrame, length: float, step: float, rule: Decisions) -> str:
    """The delays of an online run, in words: processing and publication delay at p50/p95/p99,
    and the whole controller delay with its parts (ms): half the window (the mean age of its
    samples), half the step (the mean wait for the next decision), the vote's and debounce's
    windows (half the vote's span and the debounce's windows less one, each a step) and the
    delay to publication at p50, against Farrell & Weir's 100-125 ms (IEEE TNSRE 15(1), 2007)."""
    ms = {c: 1000 * table[c].quantile([0.5, 0.95, 0.99]) for c in ("processing", "latency")}
    parts = {"half the window": 500 * length, "half the step": 500 * step,
             "vote": 1000 * step * (rule.vote - 1) / 2, "debounce": 1000 * step * (rule.debounce - 1),
             "last sample to published (p50)": ms["latency"][0.5]}
    total = sum(parts.values())
    spelled = " + ".join(f"{v:.0f} {k}" for k, v in parts.items() if v or k.startswith("last"))
    return (f"{len(table)} decisions. Processing per decision: p50 {ms['processing'][0.5]:.1f} ms, p95 "
            f"{ms['processing'][0.95]:.1f} ms, p99 {ms['processing'][0.99]:.1f} ms; from a window's last sample to its "
            f"decision published: p50 {ms['latency'][0.5]:.1f} ms, p95 {ms['latency'][0.95]:.1f} ms, p99 "
            f"{ms['latency'][0.99]:.1f} ms. Controller delay about {total:.0f} ms = {spelled} (Farrell & Weir, 2007: "
            "100-125 ms is best).")


#: Seconds the live page stays after an online run, so that it shows the run ended.
LIVE_LINGER_S = 1.0


def _live_page(model: DeployableModel, stream: str, port: int, path: Path) -> LiveFeed:
    """A live feed of the decoding of ``stream`` by ``model``, shown by the dashboard (over the
    runs beside the model's run folder) on 127.0.0.1:``port`` in a thread of its own."""
    import threading

    try:
        import uvicorn

        from bmelearn.web import create_app
        from bmelearn.web.live import LiveFeed
    except ImportError as exc:
        raise ConfigError(f"--page needs the web extra ({exc.name} is missing): pip install 'bmelearn[web]'.") from None
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise ConfigError(f"--page: port {port} of 127.0.0.1 is taken; choose another (e.g. --page {port + 1}).") from None
    modality = next(iter(model.signal.inputs))
    feed = LiveFeed(stream, list(model.signal.channels(modality)), model.signal.inputs[modality].fs,
                    [str(c) for c in model.classes])
    folder = path.resolve().parent
    runs = folder.parent.parent if folder.name == "models" else folder
    server = uvicorn.Server(uvicorn.Config(create_app(runs, live=feed), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True, name="live page").start()
    console.print(f"Live page: http://127.0.0.1:{port}/live", highlight=False)
    return feed


@app.command()
def replay(
    files: Annotated[list[Path], typer.Argument(help="Recordings to play one after the other: files that name their "
                                                      "signals (EDF/BDF, C3D, XDF ...), or numeric text with --model.")],
    lsl: Annotated[str, typer.Option("--lsl", help="Name of the LSL stream to publish.")],
    model: Annotated[Path | None, typer.Option(help="Read the files as this model's signal (its channels and rate), "
                                                    "as bmelearn predict does.")] = None,
    speed: Annotated[float, typer.Option(help="Playing speed: 1 in real time, 2 twice as fast.")] = 1.0,
    loop: Annotated[bool, typer.Option(help="Play again from the start until Ctrl-C.")] = False,
    compare: Annotated[bool, typer.Option(help="With --model: listen to the decisions bmelearn online publishes on the "
                                               "stream and set them beside the model's offline decisions of the same "
                                               "files.")] = False,
) -> None:
    """Play recordings as a Lab Streaming Layer stream in real time, for demos, tests and
    pseudo-online evaluation (bmelearn online on the stream; --compare sets its decisions beside
    the offline ones)."""
    import numpy as np

    from bmelearn.io import read
    from bmelearn.serving.lsl import replay as play
    from bmelearn.serving.lsl import side_by_side
    from bmelearn.signals.recording import Recording

    try:
        if compare and (model is None or loop):
            raise ConfigError("--compare needs --model (the model bmelearn online runs) and no --loop.")
        if model is not None:
            from bmelearn.serving import from_files, load_model

            fitted = load_model(model)
            parts = [next(iter(r.values())) for r in from_files(fitted.signal, [str(f) for f in files]).values()]
        else:
            parts = [read(f)[0] for f in files]
        first = parts[0]
        if any(p.fs != first.fs or p.ch_names != first.ch_names for p in parts):
            raise BmeError("the files differ in rate or channels; play files of one signal together.")
        stream = Recording(np.concatenate([p.opened().data for p in parts], axis=1), first.fs, first.ch_names,
                           first.ch_types, first.units, first.modality, {"source": str(files[0])})
        console.print(f"Waiting for a consumer of {lsl!r} ({stream.n_channels} channels at {stream.fs:g} Hz, "
                      f"{stream.duration:.1f} s)...", highlight=False)
        heard: list[str] | None = [] if compare else None
        sent = play(stream, lsl, speed, loop, wait=1e6 if loop else 60.0, heard=heard)  # looping: until a consumer comes
        console.print(f"{sent} samples sent ({sent / stream.fs:.1f} s of signal).", highlight=False)
        if heard is not None:
            _print_side_by_side(side_by_side(fitted, stream, heard), lsl)
    except BmeError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _print_side_by_side(compared: dict, stream: str) -> None:
    """The online and offline decisions of a replay, in words."""
    rule = compared["rule"]
    if not compared["online"]:
        console.print(f"No decision was heard on {stream}-decisions: is bmelearn online deciding {stream!r}?",
                      highlight=False)
        return
    console.print(f"Online: {compared['online']} decisions published on {stream}-decisions; offline, the same model "
                  f"makes {compared['offline']} on these files (vote {rule.vote}, debounce {rule.debounce}"
                  + (f", reject below {rule.reject_below:g}" if rule.reject_below is not None else "")
                  + f"). The same decision for {100 * compared['alike']:.1f} % of the {compared['compared']} windows "
                  "compared. (If bmelearn online was given another --vote, --debounce or --reject-below, its decisions "
                  "differ for that reason too.)",
                  highlight=False, soft_wrap=True)


@app.command()
def raters(
    ratings: Annotated[Path, typer.Argument(help="CSV of ratings: one row per item and rater, with columns trial (or "
                                                 "subject), rater and label.")],
    level: Annotated[str, typer.Option(help="The labels' level of measurement: nominal, ordinal (a stage, a score "
                                            "band) or interval.")] = "nominal",
    order: Annotated[str | None, typer.Option(help="The categories in order, comma-separated (default: sorted, "
                                                   "numbers by value).")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples of the subjects, for the intervals.", min=1)] = 1000,
) -> None:
    """How well several raters agree: Cohen's kappa per pair, Fleiss' kappa and Krippendorff's
    alpha over all, each with a 95 % bootstrap interval over subjects."""
    from bmelearn.evaluation.raters import agreement, consensus, read_ratings

    try:
        categories = None if order is None else [c.strip() for c in order.split(",")]
        table = read_ratings(ratings, categories)
        agreed = agreement(table, level, categories, n_boot)
        majority = consensus(table, "majority", categories)
        latent = consensus(table, "dawid-skene", categories)
    except BmeError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    shown = Table(title=f"Agreement of {table['rater'].nunique()} raters on {table['item'].nunique()} items "
                        f"({level} labels; 95 % intervals over {table['subject'].nunique()} subjects)")
    for column in ("measure", "raters", "value (95 % interval)", "items"):
        shown.add_column(column, justify="right" if column != "measure" else "left")
    for row in agreed.itertuples():
        shown.add_row(row.measure, row.raters, f"{row.value:.2f} ({row.ci_low:.2f} to {row.ci_high:.2f})", str(row.items))
    console.print(shown)
    differ = int((latent["label"] != majority.loc[latent.index, "label"]).sum())
    console.print(f"Majority label: {int(majority['tie'].sum())} of {len(majority)} items tied (given to the category "
                  f"listed first). The Dawid-Skene truth, which weighs each rater by how often they agree with the "
                  f"others, differs from the majority on {differ} item(s).", highlight=False, soft_wrap=True)


@app.command()
def datasets() -> None:
    """List the datasets bmelearn can load: what each holds, where a public one comes from (what
    dataset.path must point at, and what to cite) and its options."""
    from bmelearn.datasets import DATASETS
    from bmelearn.registry import REQUIRED

    table = Table(title="Datasets (dataset.name in an experiment file)", show_lines=True)
    for column in ("name", "what it holds", "where it comes from", "options"):
        table.add_column(column, style="bold" if column == "name" else None, overflow="fold")
    for entry in DATASETS.values():
        options = (p if default is REQUIRED else f"{p}={default!r}" for p, default in entry.parameters.items())
        table.add_row(entry.name, escape(entry.description), escape(entry.metadata["source"]), escape(", ".join(options)))
    Console().print(table)


@app.command()
def simulate(
    folder: Annotated[Path, typer.Argument(help="Folder to write the files into (created).")],
    subjects: Annotated[int, typer.Option(help="Simulated subjects.", min=2, max=20)] = 3,
) -> None:
    """Write simulated EMG recordings as a lab exports them (CSV files with a header, one per
    trial): to try the files dataset (examples/files.yaml) and bmelearn predict without data."""
    from bmelearn.datasets.simulator import write_files

    if folder.exists() and any(folder.iterdir()):
        console.print(f"[bold red]Error:[/] {escape(str(folder))} is not empty; choose a new folder.", highlight=False)
        raise typer.Exit(2)
    count = write_files(folder, n_subjects=subjects)
    console.print(f"Wrote {count} simulated recordings (8 EMG channels, 1000 Hz, 2 s each) under {folder}/"
                  "S{subject}/{session}/{label}_{repetition}.csv", highlight=False)


#: What ``bmelearn list KIND`` lists: the module and name of each registry, and where an
#: experiment file names its entries.
KINDS = {
    "steps": ("bmelearn.signals.preprocessing", "STEPS", "preprocessing"),
    "features": ("bmelearn.features", "FEATURES", "features"),
    "protocols": ("bmelearn.evaluation.protocols", "PROTOCOLS", "protocols"),
    "models": ("bmelearn.models", "MODELS", "models"),
    "datasets": ("bmelearn.datasets", "DATASETS", "dataset.name"),
    "perturbations": ("bmelearn.evaluation.robustness", "PERTURBATIONS", "evaluation.robustness"),
    "adaptations": ("bmelearn.evaluation.adaptation", "METHODS", "evaluation.adaptation.methods"),
    "metrics": ("bmelearn.evaluation.metrics", "METRICS", "evaluation.compare, the overall ones; all are in results.csv"),
}


@app.command("list")
def list_(kind: Annotated[str, typer.Argument(help=f"What to list: {', '.join(KINDS)}.")]) -> None:
    """List the preprocessing steps, features, protocols, models, datasets, perturbations,
    adaptation methods or metrics: name, description and parameters (with their defaults)."""
    import importlib

    from bmelearn.registry import REQUIRED

    if kind not in KINDS:
        console.print(f"[bold red]Error:[/] unknown kind {kind!r}; choose from {list(KINDS)}.", highlight=False)
        raise typer.Exit(2)
    module, name, key = KINDS[kind]
    table = Table(title=f"{kind.capitalize()} (used in an experiment file under {key})")
    table.add_column("name", style="bold")
    table.add_column("description")
    table.add_column("parameters")
    for entry in getattr(importlib.import_module(module), name).values():
        parameters = (p if default is REQUIRED else f"{p}={default!r}" for p, default in entry.parameters.items())
        table.add_row(entry.name, escape(entry.description), escape(", ".join(parameters)))
    Console().print(table)


@app.command()
def serve(
    runs_dir: Annotated[Path, typer.Argument(help="Folder of run folders to serve.")] = Path("runs"),
    host: Annotated[str, typer.Option(help="Address to listen on. Any address but loopback needs a token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    token_file: Annotated[Path | None, typer.Option(help="File holding the access token (else the BMELEARN_TOKEN "
                                                         "environment variable).")] = None,
    max_upload_mb: Annotated[float, typer.Option(help="Largest upload accepted (MB).", min=0.001)] = 50.0,
    workers: Annotated[int, typer.Option(help="Predictions at once: threads running those started from the pages, "
                                              "and requests with a body handled at once (others wait up to 30 s, then 503).",
                                         min=1)] = 2,
) -> None:
    """Serve the dashboard (runs, models, predictions) and the JSON API (/api/v1) over RUNS_DIR."""
    try:
        import uvicorn

        from bmelearn.web import create_app
        from bmelearn.web.security import check_binding, load_token
    except ImportError as exc:
        console.print(f"[bold red]Error:[/] the web server needs {exc.name}: pip install 'bmelearn[web]'", highlight=False)
        raise typer.Exit(2) from None
    try:
        if not runs_dir.is_dir():
            raise BmeError(f"{runs_dir}: no such folder; give the folder that holds your run folders (default: runs).")
        token = load_token(token_file)
        check_binding(host, token)
    except BmeError as exc:
        console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(f"Serving {runs_dir.resolve()} on http://{host}:{port}" + (" (token required)" if token else ""))
    uvicorn.run(create_app(runs_dir, token, int(max_upload_mb * 1e6), workers), host=host, port=port, log_level="info")


@app.command()
def example() -> None:
    """Print an annotated experiment file (the demo's, on the simulator) to start your own from:
    bmelearn example > my-experiment.yaml."""
    from bmelearn.runs.config import DEMO_CONFIG

    print(DEMO_CONFIG.read_text(encoding="utf-8"), end="")


@app.command()
def version() -> None:
    """Print the bmelearn version."""
    print(__version__)


def entry() -> None:
    """The ``bmelearn`` program: the command, then an exit that does what Python's does but free
    every module: 1-1.5 s once PyTorch is loaded (a run that trains a network).

    By the time a command returns, its files are written and closed and a Dask cluster it
    started is stopped. What is left: loky's workers, if the run started them, and the process
    that reads C3D and MATLAB files, if a command read one (both stopped, their queues
    released), and the exit handlers (joblib's removal of the folders it shared arrays
    through, logging's flush), run here; then the process ends with the command's code."""
    code: int | str | None = 0
    try:
        app()
    except SystemExit as stop:
        code = stop.code
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)  # a profiler or coverage writes its results at the normal exit
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    from bmelearn.compute.backends import stop_local_workers
    from bmelearn.io.isolated import stop_isolated

    stop_local_workers()
    stop_isolated()  # a file reader's process (C3D, MATLAB) left running by predict: loky's exit would wait on it
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
