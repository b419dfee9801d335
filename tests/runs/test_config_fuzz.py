"""Malformed experiment files: each one is refused by ``bmelearn run`` with exit status 2 and a
one-line message that names the key at fault, before any data is read."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

import bmelearn.runs.plan as plan
from bmelearn.cli import app

FILES = "name: files, path: DATA, fs: 1000, ch_names: [EMG1, EMG2]"

# (id, experiment file (text or bytes; DATA is a folder of tmp_path), --set arguments, what the message must name)
CASES = [
    # the file itself
    ("not-utf8", b"name: caf\xe9\n", (), "not UTF-8 text (byte 0xe9"),
    ("empty", "", (), "is empty"),
    ("only-comments", "# nothing here\n", (), "is empty"),
    ("duplicate-top-key", "windows: {length: 0.2}\nwindows: {step: 0.1}\n", (), "line 2, column 1: key 'windows' is given twice"),
    ("duplicate-nested-key", "windows: {length: 0.2, length: 0.3}\n", (), "key 'length' is given twice"),
    ("yaml-syntax", "windows: {length: 0.2\n", (), "not valid YAML: line 2, column 1: expected ',' or '}'"),
    ("yaml-tab", "windows:\n\tlength: 0.2\n", (), "not valid YAML: line 2, column 1"),
    ("yaml-unterminated-quote", 'name: "demo\n', (), "not valid YAML"),
    ("yaml-python-tag", '!!python/object/apply:os.system ["true"]\n', (), "could not determine a constructor"),
    ("yaml-unhashable-key", "{[a]: 1}\n", (), "found unhashable key"),
    ("a-list", "- windows\n- models\n", (), "must be a YAML mapping"),
    ("a-scalar", "hello\n", (), "must be a YAML mapping"),
    # --set
    ("set-yaml-error", "name: x\n", ("windows.length=[0.2",), "--set 'windows.length=[0.2': the value: not valid YAML"),
    ("set-duplicate-key", "name: x\n", ("windows={length: 0.2, length: 0.3}",), "key 'length' is given twice"),
    ("set-no-equals", "name: x\n", ("windows.length",), "--set 'windows.length': write key.path=value"),
    ("set-empty-key", "name: x\n", ("=3",), "--set '=3': write key.path=value"),
    ("set-bad-index", "models: [lda]\n", ("models.5=svm",), "--set models.5: '5' is not an index"),
    ("set-into-a-value", "seed: 1\n", ("seed.x=1",), "--set seed.x: seed is a value, not a section"),
    ("set-unknown-feature", "name: x\n", ("features=[MAVV]",), "unknown feature or group 'MAVV'"),
    # unknown keys at every level
    ("unknown-top-key", "datset: {name: 3dc}\n", (), "datset: unknown key"),
    ("unknown-windows-key", "windows: {lenght: 0.2}\n", (), "windows.lenght: unknown key"),
    ("unknown-evaluation-key", "evaluation: {nboot: 10}\n", (), "evaluation.nboot: unknown key"),
    ("unknown-robustness-key", "evaluation: {robustness: {snr: [10]}}\n", (), "evaluation.robustness.snr: unknown key"),
    ("unknown-execution-key", "execution: {threads: 2}\n", (), "execution.threads: unknown key"),
    ("unknown-selection-key", "features: {emg: [HTD], selection: {method: anova, n_features: 2, k: 3}}\n", (),
     "features.selection.k: unknown key"),
    ("unknown-model-key", "models: [{name: lda, label: a, params: {}, extra: 1}]\n", (), "models.0: model lda has no parameter(s) ['extra']"),
    ("unknown-dataset-option", "dataset: {name: simulator, subjects: [1]}\n", (), "dataset: dataset simulator has no parameter(s) ['subjects']"),
    ("unknown-feature-param", "features: {emg: [ZC], params: {ZC: {thresh: 1}}}\n", (), "features.params: feature ZC has no parameter"),
    ("unknown-protocol-param", "protocols: [{within_session: {k: 3}}]\n", (), "protocols.0: protocol within_session has no parameter"),
    ("unknown-step-param", "preprocessing: [{bandpass: {lo: 20}}]\n", (), "preprocessing.0: step bandpass has no parameter"),
    ("unknown-model-param", "models: [{name: svm, gama: 2}]\n", (), "models.0: model svm has no parameter(s) ['gama']"),
    ("unknown-network-param", "models: [{name: mlp, width: 3}]\n", (), "models.0: model mlp has no parameter(s) ['width']"),
    ("unknown-rocket-param", "models: [{name: minirocket, kernels: 84}]\n", (), "models.0: model minirocket has no parameter"),
    # unknown names
    ("unknown-dataset", "dataset: {name: ninapro}\n", (), "dataset: unknown dataset 'ninapro'"),
    ("unknown-feature", "features: [HTD, MAVV]\n", (), "unknown feature or group 'MAVV'"),
    ("unknown-model", "models: [lda, xgboost]\n", (), "models.1: unknown model 'xgboost'"),
    ("unknown-protocol", "protocols: [kfold]\n", (), "protocols.0: unknown protocol 'kfold'"),
    ("unknown-step", "preprocessing: [smooth]\n", (), "preprocessing.0: unknown step 'smooth'"),
    ("unknown-metric", "evaluation: {compare: auc}\n", (), "evaluation.compare: Input should be"),
    ("unknown-backend", "execution: {backend: gpu}\n", (), "execution.backend: Input should be"),
    ("unknown-selection-method", "features: {emg: [HTD], selection: {method: best, n_features: 2}}\n", (),
     "features.selection.method"),
    ("unknown-operating-target", "evaluation: {operating_point: {target: accuracy}}\n", (), "evaluation.operating_point.target"),
    ("unknown-class", "dataset: {classes: [rest, jump]}\n", (), "dataset.classes: ['jump'] are not classes of 'simulator'"),
    ("unknown-3dc-session", "dataset: {name: 3dc, path: DATA, sessions: [tset]}\n", (), "dataset.sessions: ['tset'] are not sessions of 3dc"),
    ("unknown-3dc-modality", "dataset: {name: 3dc, path: DATA, modalities: [eeg]}\n", (), "dataset.modalities: ['eeg']"),
    ("unknown-myo-session", "dataset: {name: one-subject-myo, path: DATA, sessions: [7]}\n", (), "dataset.sessions: [7]"),
    ("unknown-wavelet", "features: {emg: [WENG], params: {WENG: {wavelet: morlet}}}\n", (), "features.params.WENG.wavelet"),
    # windows
    ("window-inf", "windows: {length: .inf}\n", (), "windows.length: Input should be a finite number, got inf"),
    ("window-nan", "windows: {length: .nan}\n", (), "windows.length: Input should be a finite number"),
    ("window-negative", "windows: {length: -0.2}\n", (), "windows.length: Input should be greater than 0"),
    ("step-zero", "windows: {step: 0}\n", (), "windows.step: Input should be greater than 0"),
    ("step-under-a-sample", "windows: {step: 0.0000001}\n", (), "windows.step: 1e-07 s is shorter than one sample of emg at 1000 Hz"),
    ("step-set-under-a-sample", "name: x\n", ("windows.step=1e-7",), "windows.step"),
    ("window-one-sample", "windows: {length: 0.001}\n", (), "windows.length: 0.001 s gives 1 sample(s) of emg"),
    ("window-one-acc-sample", "windows: {length: 0.02}\nfeatures: {emg: [MAV], acc: [MAV]}\n", (), "1 sample(s) of acc at 50 Hz"),
    ("window-longer-than-trials", "windows: {length: 10}\n", (), "windows.length: 10 s is longer than the 3 s trials"),
    ("window-huge", "windows: {length: 1.0e308}\n", (), "windows.length: 1e+308 s"),
    ("files-window-huge", f"dataset: {{{FILES}, pattern: '{{label}}.csv'}}\nwindows: {{length: 1.0e12}}\n", (),
     "windows.length: 1e+12 s is 1e+15 samples of emg at 1000 Hz"),
    ("window-text", "windows: {length: short}\n", (), "windows.length: Input should be a valid number"),
    ("windows-a-list", "windows: [0.2, 0.1]\n", (), "windows: Input should be a valid dictionary"),
    ("files-window-one-sample", f"dataset: {{{FILES}, pattern: '{{label}}.csv'}}\nwindows: {{length: 0.001}}\n", (),
     "windows.length: 0.001 s gives 1 sample(s) of emg at 1000 Hz"),
    # dataset options
    ("subjects-a-string", "dataset: {name: 3dc, path: DATA, subjects: one}\n", (), "dataset.subjects: 'one' is not valid"),
    ("subjects-of-text", "dataset: {name: daphnet, path: DATA, subjects: [a]}\n", (), "dataset.subjects[0]: 'a' is not valid"),
    ("sessions-a-string", "dataset: {name: 3dc, path: DATA, sessions: train}\n", (), "dataset.sessions: 'train' is not valid"),
    ("dataset-no-path", "dataset: {name: 3dc}\n", (), "dataset.path"),
    ("files-events-misspelt", "dataset: {name: files, path: DATA, pattern: 'S{subject}/{session}.edf', fs: 1000, "
     "ch_names: [EMG1], events: annotaions}\n", (), "dataset.events: 'annotaions' is not valid (input should be "
     "'annotations', 'sidecar' or 'labels'); expected 'annotations' | 'sidecar' | 'labels' | null"),
    ("files-continuous-without-events", "dataset: {name: files, path: DATA, pattern: 'S{subject}/{session}.edf', fs: 1000, "
     "ch_names: [EMG1]}\n", (), "or, for continuous recordings, in their events (dataset.events: annotations, labels or sidecar)"),
    ("dataset-a-string", "dataset: 3dc\n", (), "dataset: Input should be a valid dictionary"),
    ("dataset-name-a-number", "dataset: {name: 5}\n", (), "dataset.name: Input should be a valid string"),
    ("simulator-zero-subjects", "dataset: {n_subjects: 0}\n", (), "dataset.n_subjects: must be an integer >= 1, got 0"),
    ("simulator-text-subjects", "dataset: {n_subjects: five}\n", (), "dataset.n_subjects: 'five' is not valid"),
    ("simulator-huge", "dataset: {n_subjects: 10000000}\n", (), "dataset: the simulated recordings"),
    ("simulator-inf-rate", "dataset: {fs: .inf}\n", (), "dataset.fs: must be a finite number"),
    ("simulator-duration-overflow", "dataset: {duration: 1.0e308}\n", (), "dataset.duration"),
    ("simulator-dead-channel", "dataset: {dead_channels: [99]}\n", (), "dataset.dead_channels: must be an integer from 0 to 7"),
    ("files-absolute-pattern", f"dataset: {{{FILES}, pattern: '/etc/{{label}}'}}\n", (), "dataset.pattern: '/etc/{label}' is not a path inside dataset.path"),
    ("files-pattern-outside", f"dataset: {{{FILES}, pattern: '../{{label}}.csv'}}\n", (), "dataset.pattern:"),
    ("files-pattern-no-label", f"dataset: {{{FILES}, pattern: '{{subject}}.csv'}}\n", (), "dataset.pattern: '{subject}.csv' has no {label}"),
    ("files-fs-text", "dataset: {name: files, path: DATA, pattern: '{label}.csv', fs: abc, ch_names: [A]}\n", (), "dataset.fs: 'abc' is not valid"),
    ("files-fs-negative", "dataset: {name: files, path: DATA, pattern: '{label}.csv', fs: -5, ch_names: [A]}\n", (), "dataset.fs: -5 is not valid"),
    ("files-channels-a-string", "dataset: {name: files, path: DATA, pattern: '{label}.csv', fs: 100, ch_names: A}\n", (), "dataset.ch_names"),
    ("files-no-channels", "dataset: {name: files, path: DATA, pattern: '{label}.csv', fs: 100, ch_names: []}\n", (), "dataset.ch_names"),
    ("files-no-fs", "dataset: {name: files, path: DATA, pattern: '{label}.csv', ch_names: [A]}\n", (), "dataset.fs: give the files' sampling rate (Hz)"),
    # features
    ("feature-param-text", "features: {emg: [ZC], params: {ZC: {threshold: abc}}}\n", (), "features.params.ZC.threshold: 'abc' is not valid"),
    ("feature-param-nan", "features: {emg: [ZC], params: {ZC: {threshold: .nan}}}\n", (), "features.params.ZC.threshold: nan is not valid"),
    ("feature-order-zero", "features: {emg: [AR], params: {AR: {order: 0}}}\n", (), "features.params.AR.order: 0 is not valid"),
    ("feature-order-float", "features: {emg: [AR], params: {AR: {order: 2.5}}}\n", (), "features.params.AR.order: 2.5 is not valid"),
    ("feature-segments", "features: {emg: [MAVSLP], params: {MAVSLP: {segments: 1}}}\n", (), "features.params.MAVSLP.segments"),
    ("feature-tolerance", "features: {emg: [SAMPEN], params: {SAMPEN: {tolerance: -1}}}\n", (), "features.params.SAMPEN.tolerance"),
    ("feature-params-not-a-mapping", "features: {emg: [ZC], params: {ZC: 5}}\n", (), "features.params.ZC: Input should be a valid dictionary"),
    ("feature-params-unselected", "features: {emg: [ZC], params: {MAV: {}}}\n", (), "'MAV' is not among the selected features"),
    ("features-a-string", "features: {emg: HTD}\n", (), "features.per_modality.emg: Input should be a valid list"),
    ("features-a-number", "features: 5\n", (), "features: Input should be a valid dictionary"),
    ("forward-more-than-features", "features: {emg: [HTD], selection: {method: forward, n_features: 1000}}\n", (),
     "features.selection.n_features: 1000"),
    ("selection-zero", "features: {emg: [HTD], selection: {method: anova, n_features: 0}}\n", (), "features.selection.n_features"),
    # preprocessing
    ("step-param-text", "preprocessing: [{bandpass: {low: abc}}]\n", (), "preprocessing.0.bandpass.low: 'abc' is not valid"),
    ("step-param-float-for-int", "preprocessing: [{notch: {harmonics: 2.5}}]\n", (), "preprocessing.0.notch.harmonics"),
    ("step-param-int-for-bool", "preprocessing: [{bandpass: {causal: 1}}]\n", (), "preprocessing.0.bandpass.causal"),
    ("step-cutoff-above-nyquist", "preprocessing: [{resample: {fs: 100}}, {bandpass: {low: 20, high: 450}}]\n", (),
     "preprocessing.1.bandpass: cutoff 450 Hz is not between 0 and the Nyquist frequency 50 Hz"),
    ("step-negative-cutoff", "preprocessing: [{highpass: {cutoff: -1}}]\n", (), "preprocessing.0.highpass: cutoff -1 Hz"),
    ("step-unknown-method", "preprocessing: [{normalize: {method: robust}}]\n", (), "preprocessing.0.normalize.method: 'robust'"),
    ("resample-negative", "preprocessing: [{resample: {fs: -1}}]\n", (), "preprocessing.0.resample.fs must be a positive rate"),
    ("resample-huge", "preprocessing: [{resample: {fs: 100000000}}]\n", (), "preprocessing.0.resample.fs: 1e+08 Hz is more than"),
    ("steps-a-string", "preprocessing: bandpass\n", (), "preprocessing: must be a list"),
    ("step-two-keys", "preprocessing: [{bandpass: {}, notch: {}}]\n", (), "preprocessing: item 0: write a name or a one-key mapping"),
    # models
    ("lda-solver", "models: [{name: lda, solver: notasolver}]\n", (), "models.0.params.solver: The 'solver' parameter of LinearDiscriminantAnalysis"),
    ("logreg-solver", "models: [{name: logreg, solver: notasolver}]\n", (), "models.0.params.solver"),
    ("svm-negative-c", "models: [lda, {name: svm, C: -1}]\n", (), "models.1.params.C: The 'C' parameter of SVC"),
    ("svm-nan-c", "models: [{name: svm, C: .nan}]\n", (), "models.0.params.C"),
    ("knn-zero-neighbours", "models: [{name: knn, n_neighbors: 0}]\n", (), "models.0.params.n_neighbors"),
    ("rf-float-trees", "models: [{name: rf, params: {n_estimators: 1.5}}]\n", (), "models.0.params.n_estimators"),
    ("mlp-bad-optimizer", "models: [{name: mlp, optimizer: adagrad}]\n", (), "models.0.params.optimizer"),
    ("mlp-bad-widths", "models: [{name: mlp, hidden: [64, 0]}]\n", (), "models.0.params.hidden"),
    ("cnn-bad-augment", "models: [{name: cnn, augment: {warp: 1}}]\n", (), "models.0.params.augment"),
    ("mlp-augment", "models: [{name: mlp, augment: {shift: 1}}]\n", (), "models.0.params.augment"),
    ("cnn-validation-one", "models: [{name: cnn, validation: 1.0}]\n", (), "models.0.params.validation"),
    ("rocket-kernels", "models: [{name: minirocket, n_kernels: 0}]\n", (), "models.0.params.n_kernels"),
    ("models-a-string", "models: lda\n", (), "models: must be a list"),
    ("models-empty", "models: []\n", (), "models: List should have at least 1 item"),
    ("model-no-name", "models: [{label: x}]\n", (), "models.0.name: Field required"),
    ("model-params-a-list", "models: [{name: svm, params: [1]}]\n", (), "models.0.params: Input should be a valid dictionary"),
    ("model-label-a-path", "models: [{name: lda, label: ../x}]\n", (), "models.0.label: '../x' is not a name"),
    ("models-same-name", "models: [lda, lda]\n", (), "models: two models share a name"),
    # protocols
    ("within-session-too-many-folds", "protocols: [{within_session: {n_splits: 100}}]\n", (), "protocols.0.within_session.n_splits: 100"),
    ("within-session-one-fold", "protocols: [{within_session: {n_splits: 1}}]\n", (), "protocols.0.within_session.n_splits: 1"),
    ("within-session-text", "protocols: [{within_session: {n_splits: many}}]\n", (), "protocols.0.within_session.n_splits: 'many'"),
    ("cross-session-a-string", "protocols: [{cross_session: {train: train}}]\n", (), "protocols.0.cross_session.train: 'train' is not a list"),
    ("cross-session-unknown", "protocols: [{cross_session: {train: [day1]}}]\n", (), "protocols.0.cross_session.train: sessions ['day1']"),
    ("cross-session-overlap", "protocols: [{cross_session: {train: [session1], test: [session1]}}]\n", (), "protocols.0.cross_session: sessions"),
    ("cross-session-params-a-list", "protocols: [{cross_session: [session1]}]\n", (), "the parameters of 'cross_session' must be a mapping"),
    ("kfold-too-many-folds", "protocols: [{subject_kfold: {n_splits: 50}}]\n", (), "protocols.0.subject_kfold.n_splits: 50"),
    ("loso-one-subject", "dataset: {n_subjects: 1}\nprotocols: [loso]\n", (), "protocols.0.loso: leave-one-subject-out needs at least 2"),
    ("protocols-a-string", "protocols: cross_session\n", (), "protocols: must be a list"),
    ("protocols-empty", "protocols: []\n", (), "protocols: List should have at least 1 item"),
    # evaluation and execution
    ("n-boot-negative", "evaluation: {n_boot: -1}\n", (), "evaluation.n_boot: Input should be greater than or equal to 0"),
    ("n-boot-huge", "evaluation: {n_boot: 99999999999999999999}\n", (), "evaluation.n_boot: Input should be less than or equal to"),
    ("confidence-nan", "evaluation: {confidence: .nan}\n", (), "evaluation.confidence"),
    ("confidence-one", "evaluation: {confidence: 1}\n", (), "evaluation.confidence"),
    ("robustness-a-string", "evaluation: {robustness: {snr_db: ten}}\n", (), "evaluation.robustness.snr_db"),
    ("robustness-inf", "evaluation: {robustness: {snr_db: [.inf]}}\n", (), "evaluation.robustness.snr_db.0"),
    ("learning-curve-zero", "evaluation: {learning_curve: [0]}\n", (), "evaluation.learning_curve"),
    ("vote-zero", "evaluation: {control: {vote: 0}}\n", (), "evaluation.control.vote"),
    ("rest-unknown", "evaluation: {control: {rest: idle}}\n", (), "evaluation.control.rest: 'idle' is not a class"),
    ("reject-without-probabilities", "models: [svm]\nevaluation: {control: {reject_below: 0.5}}\n", (), "evaluation.control.reject_below"),
    ("transfer-without-network", "models: [lda]\nevaluation: {transfer: [1]}\n", (), "evaluation.transfer: no model can be fine-tuned"),
    ("positive-not-binary", "evaluation: {positive: rest}\n", (), "evaluation: positive and operating_point apply to binary tasks"),
    ("positive-unknown", "dataset: {classes: [rest, hand close]}\nevaluation: {positive: sick}\n", (), "evaluation.positive: 'sick'"),
    ("operating-point-no-value", "evaluation: {operating_point: {target: sensitivity}}\n", (), "operating_point"),
    ("workers-zero", "execution: {workers: 0}\n", (), "execution.workers"),
    ("scheduler-without-dask", "execution: {scheduler: 'tcp://h:8786'}\n", (), "execution: scheduler"),
    ("cache-a-number", "execution: {cache: 5}\n", (), "execution.cache"),
    ("seed-negative", "seed: -1\n", (), "seed: Input should be greater than or equal to 0"),
    ("seed-text", "seed: abc\n", (), "seed: Input should be a valid integer"),
    ("seed-huge-float", "seed: 1.0e400\n", (), "seed:"),
    ("name-a-path", "name: ../../escape\n", (), "name: '../../escape' is not a name"),
    ("name-a-number", "name: 5\n", (), "name: Input should be a valid string"),
]


#: Models whose entry needs an extra: without it, a file naming them is refused for that reason instead.
EXTRAS = {"mlp": "skorch", "cnn": "skorch", "gru": "skorch", "minirocket": "aeon"}


@pytest.fixture
def loads(monkeypatch) -> list:
    """The datasets the run tried to load (none, if the experiment is refused before any data is read)."""
    calls = []

    def refuse(name, **options):
        calls.append(name)
        raise AssertionError(f"dataset {name} loaded: the experiment should have been refused before")

    monkeypatch.setattr(plan, "load_dataset", refuse)
    return calls


def test_there_are_enough_cases():
    assert len(CASES) >= 60 and len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("text, sets, names", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_malformed_experiment_is_one_line_naming_the_key_and_nothing_is_read(tmp_path, loads, text, sets, names):
    for model, module in EXTRAS.items():
        if isinstance(text, str) and f"name: {model}," in text and importlib.util.find_spec(module) is None:
            pytest.skip(f"{model} needs {module}")
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "exp.yaml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text.replace("DATA", str(data)), encoding="utf-8")
    args = ["run", str(config), "--out", str(tmp_path / "out")]
    for item in sets:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: ")
    assert result.output.count("\n") == 1 and result.output.endswith("\n"), result.output  # one line
    assert names in result.output
    assert loads == [] and not (tmp_path / "out").exists() and not list(data.iterdir())
