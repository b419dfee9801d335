"""LibEMG's own script for the study of end_to_end.py; run by it inside LibEMG's environment.

Usage: python libemg_end_to_end.py 3DC_FOLDER SUBJECTS FEATURES (e.g. ``.../3dc 1,2,3,4 HTD``).
Loads the EMG files of those participants with LibEMG's OfflineDataHandler, cuts 200-sample
windows every 100 samples (200 ms / 100 ms at 1 kHz), extracts the feature group, fits
scikit-learn's LDA on the ``train`` session and scores the ``test`` session, per participant.
Prints one JSON line: the accuracy (%) of each participant.
"""

import contextlib
import json
import sys

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

with contextlib.redirect_stdout(sys.stderr):  # standard output carries the answer only
    from libemg.data_handler import OfflineDataHandler, RegexFilter
    from libemg.feature_extractor import FeatureExtractor


def main(folder: str, subjects: list[str], group: str) -> dict[str, float]:
    handler = OfflineDataHandler()
    handler.get_data(folder, [
        RegexFilter("Participant", "/", subjects, "subjects"),
        RegexFilter("/", "/EMG", ["train", "test"], "sets"),
        RegexFilter("EMG_gesture_", "_", [str(r) for r in range(4)], "reps"),
        RegexFilter("_", ".txt", [str(c) for c in range(11)], "classes"),
    ], delimiter=",")
    extractor = FeatureExtractor()
    accuracy = {}
    for i, subject in enumerate(subjects):
        mine = handler.isolate_data("subjects", [i])
        features = {}
        for session, index in (("train", 0), ("test", 1)):
            windows, meta = mine.isolate_data("sets", [index]).parse_windows(200, 100)
            values = extractor.extract_feature_group(f"{group}", windows, array=True)
            features[session] = (values, meta["classes"])
        model = LinearDiscriminantAnalysis().fit(*features["train"])
        accuracy[subject] = 100 * float(model.score(*features["test"]))
    return accuracy


if __name__ == "__main__":
    with contextlib.redirect_stdout(sys.stderr):
        result = main(sys.argv[1], sys.argv[2].split(","), sys.argv[3])
    print(json.dumps(result))
