"""bmelearn: machine learning on biomedical signals, from raw files to a validated report."""

from bmelearn.errors import BmeError, ConfigError, DataError, LeakageError, SignalError
from bmelearn.signals.recording import Recording, RecordingSet

__version__ = "0.1.0"

__all__ = [
    "BmeError",
    "ConfigError",
    "DataError",
    "LeakageError",
    "Recording",
    "RecordingSet",
    "SignalError",
    "__version__",
]
