"""Which column of a file holds which channel: by the names of its header line, when it has one.

Training (the ``files`` dataset, :func:`~bmelearn.io.read_pattern`) and prediction
(:mod:`bmelearn.serving.inputs`) both decide it here, so they cannot read one file differently.
A header must name every channel (in any order); besides them it may hold a time column, checked
against the sampling rate and dropped, and columns declared as ignored. A file without a header
is read by position: its columns are the channels in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bmelearn.errors import DataError
from bmelearn.io.long_csv import TIME_SCALE

#: How a header that names none of the channels is read: ``name`` refuses it, ``position``
#: takes its columns (less the time and ignored ones) as the channels in order.
MATCHES = ("name", "position")
#: Header names (any case) taken for a time column at prediction, when no channel has that name.
TIME_NAMES = ("time", "t", "timestamp")
#: Largest relative difference between the rate of a time column and the sampling rate.
RATE_TOLERANCE = 0.01


@dataclass(frozen=True)
class Columns:
    """What a header may hold besides the channels. ``time``: the name of a time column in
    ``time_unit`` (s, ms or us); ``ignore``: names of columns to drop; ``match``: one of
    :data:`MATCHES`. ``config`` is where messages say these options are set: a config key
    (``dataset``), ``""`` for the arguments of a reader, or None where they cannot be set (at
    prediction, where the model's channels are expected)."""

    time: str | None = None
    time_unit: str = "s"
    ignore: tuple[str, ...] = ()
    match: str = "name"
    config: str | None = ""

    def __post_init__(self) -> None:
        if self.match not in MATCHES:
            raise DataError(f"{self._key('match_channels')}: {self.match!r} is not one of {list(MATCHES)}.")
        if self.time_unit not in TIME_SCALE:
            raise DataError(f"{self._key('time_unit')}: {self.time_unit!r} is not one of {list(TIME_SCALE)}.")

    def _key(self, option: str) -> str:
        return f"{self.config}.{option}" if self.config else option

    def select(self, values: np.ndarray, header: Sequence[str] | None, channels: Sequence[str], fs: float,
               source: object) -> np.ndarray:
        """The columns of ``values`` (samples × columns) that hold ``channels``, in their order, once
        the time column (if any) agrees with ``fs`` Hz; without a header, ``values`` as they are."""
        if header is None:
            if self.time:
                raise DataError(f"{source}: no header line, so no time column {self.time!r}; add a header line naming "
                                f"the columns, or remove {self._key('time_column')}.")
            return values
        header = list(header)
        order = self.order(header, channels, source)
        if self.time:
            check_rate(values[:, header.index(self.time)], self.time_unit, fs, source, self.time)
        return values[:, order]

    def order(self, header: Sequence[str], channels: Sequence[str], source: object) -> list[int]:
        """The index in ``header`` of each of ``channels``; an error naming ``source`` when a channel
        is missing or named twice, or a column is neither a channel, the time nor ignored."""
        header = list(header)
        owner = "the model" if self.config is None else "the dataset"
        twice = sorted({n for n in header if header.count(n) > 1 and (n in channels or n == self.time)})
        if twice:
            raise DataError(f"{source}: the header names {twice} more than once; give each column its own name.")
        if self.time and self.time not in header:
            raise DataError(f"{source}: no time column {self.time!r} in the header {_shown(header)}; fix "
                            f"{self._key('time_column')}.")
        others = [n for n in header if n not in channels and n != self.time and n not in self.ignore]
        if not set(channels) & set(header):
            if self.match == "position":
                return [header.index(n) for n in others]  # the caller checks their number
            how = f"set {self._key('match_channels')}: position" if self.config is not None else "delete the header line"
            raise DataError(f"{source}: the header {_shown(header)} names none of the channels {list(channels)} that "
                            f"{owner} expects; rename the columns, or {how} to read the columns in order.")
        missing = [c for c in channels if c not in header]
        if missing:
            raise DataError(f"{source}: channels {missing} that {owner} expects are missing"
                            + (f" (the file has {others} instead)" if others else "") + ".")
        if others:
            how = (f"list them in {self._key('ignore_columns')} (a time column in {self._key('time_column')})"
                   if self.config is not None else "delete them from the file")
            raise DataError(f"{source}: columns {others} are not channels of {owner} ({', '.join(channels)}); {how}.")
        return [header.index(c) for c in channels]


def time_column(header: Sequence[str] | None, channels: Sequence[str]) -> str | None:
    """The first column of ``header`` named as in :data:`TIME_NAMES` that is not one of ``channels``."""
    return next((n for n in header or () if n.lower() in TIME_NAMES and n not in channels), None)


def check_rate(times: np.ndarray, unit: str, fs: float, source: object, column: str) -> None:
    """A DataError naming ``source`` and the rate measured unless the median interval between the
    ``times`` (in ``unit``: s, ms or us) is 1/``fs`` within :data:`RATE_TOLERANCE`."""
    if len(times) < 2:
        return
    interval = float(np.median(np.diff(times))) * TIME_SCALE[unit]
    rate = 1 / interval if interval > 0 else 0.0
    if not abs(rate - fs) <= RATE_TOLERANCE * fs:
        raise DataError(f"{source}: the times in column {column!r} (in {unit}) give a sampling rate of {rate:.6g} Hz, "
                        f"not {fs:g} Hz; check the sampling rate, the unit of the times and that they increase.")


def _shown(names: list[str]) -> str:
    """At most ten names, for a message."""
    return str(names) if len(names) <= 10 else f"{str(names[:10])[:-1]}, ...]"
