"""Configuration: the exact settings of the run, to reproduce it."""

from __future__ import annotations

import yaml

from bmelearn.report.page import Section
from bmelearn.report.run import RunData


def section(run: RunData) -> Section:
    return Section("configuration", "Configuration", template="configuration.html", folded=True,
                   extra={"yaml": yaml.safe_dump(run.config, sort_keys=False, allow_unicode=True, default_flow_style=False)})
