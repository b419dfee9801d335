"""Seeds: every random step takes one derived from the experiment seed, so a config gives the same numbers."""

from __future__ import annotations

import numpy as np


def derive_seed(seed: int, *keys: int) -> int:
    """A reproducible 32-bit seed for one random step, derived from the experiment seed."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])
