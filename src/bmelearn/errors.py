"""The bmelearn exception family: every message names what is at fault and how to fix it."""


class BmeError(Exception):
    """Base class of every error bmelearn raises for a user's input."""


class DataError(BmeError, ValueError):
    """A data file or signal is missing, unreadable or unusable (names the file or channel)."""


class ConfigError(BmeError, ValueError):
    """An experiment configuration is invalid (names the key and the allowed values)."""


class SignalError(BmeError, ValueError):
    """A processing step cannot be applied to a signal (e.g. a cutoff above Nyquist)."""


class LeakageError(BmeError, RuntimeError):
    """A split or a pipeline would let test information reach training."""
