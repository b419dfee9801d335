"""The report as an object: a :class:`Report` is the list of its :class:`Section` objects in
page order (in the spirit of ``mne.Report``), rendered into one self-contained HTML page
(Jinja2, autoescaped) and written atomically.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from bmelearn.report.cells import Table

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass
class Figure:
    """A figure: a PNG data URI, its alternative text, and its caption after an optional bold ``lead``."""

    image: str
    alt: str
    caption: str = ""
    lead: str = ""


@dataclass
class Item:
    """One block of a section: a paragraph, a figure, a table, in this order. An item with a
    ``title`` is folded under it (a ``<details>`` the reader opens), so that a section of many
    protocols and models reads as a list of their names."""

    title: str = ""
    text: str = ""
    figure: Figure | None = None
    table: Table | None = None


@dataclass
class Section:
    """A section of the page: its anchor ``id`` and ``title`` (also its entry in the contents),
    plain-text ``intro`` paragraphs, its ``items``, the ``empty`` sentence shown when it has
    none, and the ``template`` that lays it out (``section.html``: the intro, then the items),
    with the ``extra`` values a template of its own needs. Every section can be closed by the
    reader; a ``folded`` one starts closed (reference material: methods, configuration)."""

    id: str
    title: str
    intro: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    empty: str = ""
    template: str = "section.html"
    extra: dict[str, Any] = field(default_factory=dict)
    folded: bool = False


class Report(list[Section]):
    """The sections of a report, in page order, with the page's ``title`` and the bmelearn ``version`` that made it."""

    def __init__(self, sections: Iterable[Section] = (), title: str = "", version: str = ""):
        super().__init__(sections)
        self.title = title
        self.version = version

    def render(self) -> str:
        """The page: every figure and style inline, every value escaped."""
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                                 undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        generated = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
        return env.get_template("report.html").render(sections=list(self), title=self.title, version=self.version,
                                                      generated=generated)

    def save(self, path: Path) -> None:
        """Render the page in full, then write it to a temporary file beside ``path`` and move it
        over ``path``, so ``path`` never holds a half-written report."""
        write_atomically(path, self.render())


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to a temporary file next to ``path``, then move it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
