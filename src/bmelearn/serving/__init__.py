"""Deployable models (the signal pipeline and the classifier in one safe file) and the
recordings users send them."""

from bmelearn.serving.inputs import Upload, from_arrays, from_files, from_uploads, read_signal
from bmelearn.serving.model import DeployableModel, load_model, save_model

__all__ = ["DeployableModel", "Upload", "from_arrays", "from_files", "from_uploads", "load_model", "read_signal",
           "save_model"]
