"""The signal pipeline (:class:`SignalPipeline`) and its application to a whole dataset, one
trial at a time as units of parallel work (:func:`featurize`)."""

from bmelearn.pipeline.batch import Featurized, featurize, fit_pipeline
from bmelearn.pipeline.signal import MismatchError, SignalInput, SignalPipeline

__all__ = ["Featurized", "MismatchError", "SignalInput", "SignalPipeline", "featurize", "fit_pipeline"]
