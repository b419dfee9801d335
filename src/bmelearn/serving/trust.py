"""Which model files may be loaded: only those built of the classes bmelearn itself saves.

A skops file is a zip holding ``schema.json``, a tree of nodes that each name the type they
rebuild (``__module__``, ``__class__``) and how (``__loader__``). skops never executes code
while loading, but the objects it rebuilds may call what they hold when they are used: a
``FunctionTransformer`` step holding ``sklearn.datasets.dump_svmlight_file`` writes a file
at every prediction. So before loading, every node is checked against an explicit
allow-list: plain data (dicts, lists, strings, NumPy arrays of numbers and text), the
estimators and parts that bmelearn's models are made of, and the three pure scoring
functions its pipelines hold. Anything else refuses the file, naming what it holds.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bmelearn.errors import DataError

#: Loaders of plain data; their nodes may only be Python's or NumPy's own types.
DATA_LOADERS = {"DictNode", "ListNode", "TupleNode", "JsonNode", "NdArrayNode", "TypeNode"}
DATA_MODULES = {"builtins", "numpy"}

#: Everything else a bmelearn model file may hold, as (module, name): the classes bmelearn's
#: models are built of (see :data:`bmelearn.models.MODELS`, feature selection, calibration and
#: the operating point) and the pure scoring functions of selection and the operating point.
ALLOWED = {
    # the deployable model and its signal pipeline
    ("bmelearn.serving.model", "DeployableModel"),
    ("bmelearn.pipeline.signal", "SignalPipeline"),
    ("bmelearn.pipeline.signal", "SignalInput"),
    ("bmelearn.features.extractor", "FeatureExtractor"),
    # the models
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.preprocessing._label", "LabelEncoder"),
    ("sklearn.preprocessing._label", "LabelBinarizer"),
    ("sklearn.discriminant_analysis", "LinearDiscriminantAnalysis"),
    ("sklearn.svm._classes", "SVC"),
    ("sklearn.ensemble._forest", "RandomForestClassifier"),
    ("sklearn.tree._classes", "DecisionTreeClassifier"),
    ("sklearn.ensemble._forest", "RandomForestRegressor"),
    ("sklearn.tree._classes", "DecisionTreeRegressor"),
    ("sklearn.tree._tree", "Tree"),
    ("sklearn.neighbors._classification", "KNeighborsClassifier"),
    ("sklearn.neighbors._kd_tree", "KDTree"),
    ("sklearn.neighbors._ball_tree", "BallTree"),
    ("sklearn.metrics._dist_metrics", "EuclideanDistance64"),
    ("sklearn.metrics._dist_metrics", "ManhattanDistance64"),
    ("sklearn.metrics._dist_metrics", "ChebyshevDistance64"),
    ("sklearn.metrics._dist_metrics", "MinkowskiDistance64"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("sklearn.linear_model._ridge", "RidgeClassifierCV"),
    ("sklearn.linear_model._ridge", "Ridge"),
    ("bmelearn.models.ordinal", "OrdinalLogit"),
    ("bmelearn.models.deep", "NeuralNetwork"),
    ("bmelearn.models.deep", "NeuralNetworkRegressor"),  # its weights as NumPy arrays: no skorch or torch object
    ("bmelearn.models.rocket", "Rocket"),
    ("aeon.classification.convolution_based._minirocket", "MiniRocketClassifier"),
    ("aeon.classification.convolution_based._multirocket", "MultiRocketClassifier"),
    ("aeon.transformations.collection.convolution_based._minirocket", "MiniRocket"),
    ("aeon.transformations.collection.convolution_based._multirocket", "MultiRocket"),
    # feature selection
    ("bmelearn.features.selection", "ForwardSelection"),
    ("bmelearn.features.selection", "mutual_information"),
    ("sklearn.feature_selection._univariate_selection", "SelectKBest"),
    ("sklearn.feature_selection._univariate_selection", "f_classif"),
    # calibrated probabilities (bmelearn.models.calibration)
    ("sklearn.calibration", "CalibratedClassifierCV"),
    ("sklearn.calibration", "_CalibratedClassifier"),
    ("sklearn.calibration", "_SigmoidCalibration"),
    ("sklearn.calibration", "_TemperatureScaling"),
    ("sklearn.isotonic", "IsotonicRegression"),
    # the operating point
    ("sklearn.model_selection._classification_threshold", "TunedThresholdClassifierCV"),
    ("sklearn.model_selection._split", "StratifiedKFold"),
    ("sklearn.metrics._scorer", "_Scorer"),
    ("sklearn.metrics._scorer", "_CurveScorer"),
    ("bmelearn.evaluation.operating_point", "constrained_score"),
    ("sklearn.utils._metadata_requests", "MetadataRequest"),
    ("sklearn.utils._metadata_requests", "MethodMetadataRequest"),
}


def trusted_types(path: Path) -> list[str]:
    """The types of the model file ``path`` that skops asks to trust, once every node of the
    file is allowed (see the module text); a DataError naming the file and what it holds
    otherwise, or when the file is no readable skops archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataError(f"{path}: not a model file written by bmelearn (unreadable skops archive: {exc}).") from None
    refused = sorted({f"{module}.{name}" for module, name, loader in _nodes(schema)
                      if not ((loader in DATA_LOADERS and module in DATA_MODULES) or (module, name) in ALLOWED)})
    if refused:
        raise DataError(f"{path}: refusing to load a model file that holds {refused}; bmelearn loads only the models "
                        "it saves itself. Run the experiment again to get a model file you can trust.")
    return sorted({f"{module}.{name}" for module, name, _ in _nodes(schema)})


def _nodes(node: Any) -> Iterator[tuple[str, str, str]]:
    """(module, name, loader) of every node of a skops schema."""
    if isinstance(node, dict):
        if "__class__" in node or "__module__" in node:
            yield str(node.get("__module__")), str(node.get("__class__")), str(node.get("__loader__"))
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)
