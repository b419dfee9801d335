"""docs/features.md, generated from the registry: every group, and every feature of each
family with its parameters and docstring (``python -m bmelearn.features.catalogue > docs/features.md``;
a test checks that the committed file is up to date)."""

from __future__ import annotations

import sys
from itertools import groupby

from bmelearn.features.registry import FEATURES, GROUPS

INTRO = """# Feature catalogue

Every feature by its literature name, with its formula, units, parameters (and their defaults)
and references; the same text is each feature's docstring (`FEATURES['MAV'].doc`). Notation:
x_i are the N samples of one channel in one window, d and d2 its first and second differences,
"u" the unit of the signal. Parameters are set per feature in the experiment file:
`features: {emg: [LS9], params: {WAMP: {threshold: 10}}}`."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def markdown() -> str:
    lines = [INTRO, "", "## Groups", "", "| group | features |", "|---|---|"]
    lines += [f"| {name} | {', '.join(members)} |" for name, members in GROUPS.items()]
    for family, features in groupby(FEATURES.values(), key=lambda f: f.family):
        features = list(features)
        module = sys.modules[features[0].obj.__module__]
        lines += ["", f"## {family}", "", _one_line(module.__doc__ or ""), "", "| feature | parameters | definition |", "|---|---|---|"]
        for f in features:
            params = ", ".join(f"{k}={v}" for k, v in f.parameters.items()) or "–"
            lines.append(f"| {f.name} | {params} | {_one_line(f.doc)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
