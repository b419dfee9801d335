# %% [markdown]
# # Activation functions and optimizers
#
# A neural network is defined by more than its layers: the activation function of its neurons
# and the optimizer that updates its weights decide whether, and how fast, it learns. This
# tutorial compares the sigmoid, tanh and ReLU activations and their derivatives, writes four
# optimizers by hand (plain gradient descent, momentum, RMSProp and Adam), checks them against
# PyTorch's own, races them on a small problem, and then makes the same choices with bmelearn's
# `mlp` model on electromyography (EMG) features of hand gestures. You should have read the
# [backpropagation tutorial](../02_xor_backprop/); a little PyTorch is explained as it comes.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

DOUBLE = torch.float64      # double precision, for exact comparisons
torch.manual_seed(0)

# %% [markdown]
# ## Three activations and their derivatives
#
# Backpropagation multiplies, layer after layer, by the derivative of each activation, so the
# derivative matters as much as the function:
#
# | activation | f(h)                    | f'(h)                     | largest f' |
# |------------|-------------------------|---------------------------|-----------:|
# | sigmoid    | σ(h) = 1 / (1 + e^(−h)) | σ(h) · (1 − σ(h))         | 0.25       |
# | tanh       | tanh(h)                 | 1 − tanh(h)²              | 1          |
# | ReLU       | max(0, h)               | 1 if h > 0, 0 if h < 0    | 1          |
#
# We code the derivatives from these formulas and check them against PyTorch's automatic
# differentiation on 2001 points from −6 to 6 (h = 0 left out: ReLU has no derivative there,
# and a network just takes 0 or 1).

# %%
activations = {
    "sigmoid": (torch.sigmoid,
                lambda h: torch.sigmoid(h) * (1 - torch.sigmoid(h))),
    "tanh": (torch.tanh, lambda h: 1 - torch.tanh(h) ** 2),
    "ReLU": (torch.relu, lambda h: (h > 0).to(h.dtype)),
}

h = torch.linspace(-6, 6, 2001, dtype=DOUBLE)
h = h[h != 0]
fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True,
                         layout="constrained")
for ax, name in zip(axes, activations, strict=True):
    f, f_prime = activations[name]
    x = h.clone().requires_grad_()
    f(x).sum().backward()          # d/dx_i of the sum is f'(x_i)
    gap = (x.grad - f_prime(h)).abs().max().item()
    largest = f_prime(h).max().item()
    print(f"{name:8s} largest |formula − autograd| = {gap:.1e}, "
          f"largest f' = {largest:.3f}")
    assert gap < 1e-12
    ax.plot(h, f(h), label="f(h)")
    ax.plot(h, f_prime(h), "--", label="f'(h)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_title(name)
    ax.set_xlabel("h")
    ax.set_ylim(-1.1, 1.6)
    ax.legend()
plt.show()

sigmoid_prime = activations["sigmoid"][1]
sigmoid_slope = sigmoid_prime(torch.zeros(1, dtype=DOUBLE)).item()
assert abs(sigmoid_slope - 0.25) < 1e-12

# %% [markdown]
# The sigmoid's slope is at most 0.25, at h = 0, and almost zero once |h| > 5. Through ten
# sigmoid layers the error signal is multiplied by ten such slopes, at most 0.25^10 ≈ 1e-6, so
# unless the weights are large the first layers hardly learn (the **vanishing gradient**).
# tanh is steeper (slope 1 at 0) and centred on zero, so it usually trains faster. ReLU passes
# the gradient unchanged wherever the neuron is active and costs almost nothing to compute,
# which is why it is the default in most modern networks; its risk is a neuron that is
# negative for every input and so never learns again ("dead").
#
# ## A small problem to train on
#
# Two rings of points in the plane: class 0 on a ring of radius 0.5, class 1 on a ring of
# radius 1, each point jittered by Gaussian noise (SD 0.1). No straight line separates them, so
# the network needs its hidden layer. It has 2 inputs, 16 tanh hidden neurons and one output,
# whose sigmoid is the probability of class 1.
#
# For probabilities, networks are usually trained on the **cross-entropy** rather than the
# squared error of the earlier tutorials: `E = −mean(t·ln p + (1 − t)·ln(1 − p))`. It is 0 for a
# confident right answer and grows without bound for a confident wrong one; at p = 0.5 it is
# ln 2 ≈ 0.69. PyTorch computes its gradients for us (`loss.backward()`), as checked in the
# previous tutorial.

# %%
rng = np.random.default_rng(0)
n_points = 400
label = (rng.random(n_points) < 0.5).astype(float)
radius = np.where(label == 1, 1.0, 0.5)
angle = rng.uniform(0, 2 * np.pi, n_points)
direction = np.column_stack([np.cos(angle), np.sin(angle)])
points = radius[:, None] * direction
points += rng.normal(0, 0.1, points.shape)
X_rings = torch.tensor(points, dtype=DOUBLE)
y_rings = torch.tensor(label, dtype=DOUBLE)


def new_weights(n_hidden=16, seed=0):
    """Fresh weights, the same for every optimizer (same seed)."""
    g = torch.Generator().manual_seed(seed)
    W1 = torch.randn(2, n_hidden, generator=g, dtype=DOUBLE)
    W2 = torch.randn(n_hidden, generator=g, dtype=DOUBLE)
    W1, W2 = W1 / np.sqrt(2), W2 / np.sqrt(n_hidden)  # by fan-in
    b1 = torch.zeros(n_hidden, dtype=DOUBLE)
    b2 = torch.zeros((), dtype=DOUBLE)
    weights = [W1, b1, W2, b2]
    return [w.requires_grad_() for w in weights]


def network(weights, X):
    W1, b1, W2, b2 = weights
    return torch.tanh(X @ W1 + b1) @ W2 + b2    # output's h; p = σ(h)


def cross_entropy(weights, X, y):
    h_out = network(weights, X)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    return bce(h_out, y)           # the sigmoid is applied inside

# %% [markdown]
# ## Four optimizers, by hand
#
# Each optimizer turns the gradient g of the loss with respect to a weight θ into a step. η is
# the learning rate; the other constants take PyTorch's default values.
#
# **Gradient descent (SGD)**, as in the previous tutorials. (The "stochastic" in its name comes
# from using a random batch of the data at each step; here every step uses all 400 points.)
#
# ```text
# θ ← θ − η·g
# ```
#
# **Momentum** keeps a velocity v, a running sum of past gradients, like a ball rolling downhill:
# steps grow along directions where the gradient keeps its sign and cancel where it oscillates.
# With μ = 0.9 a steady gradient gives steps up to 1 / (1 − μ) = 10 times larger than SGD's.
#
# ```text
# v ← μ·v + g            (μ = 0.9)
# θ ← θ − η·v
# ```
#
# **RMSProp** divides each weight's step by the root mean square of its recent gradients, so
# that every weight moves at a similar pace, whatever the scale of its gradient.
#
# ```text
# s ← ρ·s + (1 − ρ)·g²        (ρ = 0.99)
# θ ← θ − η·g / (√s + ε)      (ε = 1e-8, against division by zero)
# ```
#
# **Adam** combines both: a running mean m of the gradients (momentum) and of their squares v
# (RMSProp). Both start at zero, so early on they are too small; dividing by 1 − β^k (at step
# k) corrects that.
#
# ```text
# m ← β1·m + (1 − β1)·g        (β1 = 0.9)
# v ← β2·v + (1 − β2)·g²       (β2 = 0.999)
# m̂ = m / (1 − β1^k),  v̂ = v / (1 − β2^k)
# θ ← θ − η·m̂ / (√v̂ + ε)
# ```
#
# In code, each optimizer keeps its state per weight tensor; `step` is called after
# `loss.backward()` has put each weight's gradient in `.grad`.

# %%
class SGD:
    def __init__(self, weights, lr):
        self.weights, self.lr = weights, lr

    def step(self):
        for w in self.weights:
            w -= self.lr * w.grad


class Momentum:
    def __init__(self, weights, lr, mu=0.9):
        self.weights, self.lr, self.mu = weights, lr, mu
        self.v = [torch.zeros_like(w) for w in weights]

    def step(self):
        for w, v in zip(self.weights, self.v, strict=True):
            v.mul_(self.mu).add_(w.grad)     # v ← μ·v + g, in place
            w -= self.lr * v


class RMSProp:
    def __init__(self, weights, lr, rho=0.99, eps=1e-8):
        self.weights, self.lr = weights, lr
        self.rho, self.eps = rho, eps
        self.s = [torch.zeros_like(w) for w in weights]

    def step(self):
        for w, s in zip(self.weights, self.s, strict=True):
            s.mul_(self.rho).add_((1 - self.rho) * w.grad ** 2)
            w -= self.lr * w.grad / (s.sqrt() + self.eps)


class Adam:
    def __init__(self, weights, lr, betas=(0.9, 0.999), eps=1e-8):
        self.weights, self.lr, self.eps = weights, lr, eps
        self.beta1, self.beta2 = betas
        self.m = [torch.zeros_like(w) for w in weights]
        self.v = [torch.zeros_like(w) for w in weights]
        self.k = 0

    def step(self):
        self.k += 1
        for w, m, v in zip(self.weights, self.m, self.v, strict=True):
            m.mul_(self.beta1).add_((1 - self.beta1) * w.grad)
            v.mul_(self.beta2).add_((1 - self.beta2) * w.grad ** 2)
            m_hat = m / (1 - self.beta1 ** self.k)
            v_hat = v / (1 - self.beta2 ** self.k)
            w -= self.lr * m_hat / (v_hat.sqrt() + self.eps)

# %% [markdown]
# One training loop serves every optimizer, ours and PyTorch's (`torch.optim`), since both have
# a `step` method. The weights change inside `torch.no_grad()`, so that PyTorch does not record
# the update itself as part of the computation to differentiate.

# %%
def train(make_optimizer, steps=300, seed=0):
    weights = new_weights(seed=seed)
    optimizer = make_optimizer(weights)
    losses = []
    for _ in range(steps):
        for w in weights:
            w.grad = None
        loss = cross_entropy(weights, X_rings, y_rings)
        loss.backward()
        with torch.no_grad():
            optimizer.step()
        losses.append(loss.item())
    return weights, np.array(losses)


choices = {   # name: (ours, PyTorch's with the same settings)
    "SGD, η = 0.1": (
        lambda w: SGD(w, lr=0.1),
        lambda w: torch.optim.SGD(w, lr=0.1)),
    "momentum, η = 0.1": (
        lambda w: Momentum(w, lr=0.1),
        lambda w: torch.optim.SGD(w, lr=0.1, momentum=0.9)),
    "RMSProp, η = 0.01": (
        lambda w: RMSProp(w, lr=0.01),
        lambda w: torch.optim.RMSprop(w, lr=0.01)),
    "Adam, η = 0.01": (
        lambda w: Adam(w, lr=0.01),
        lambda w: torch.optim.Adam(w, lr=0.01)),
}

curves, rows = {}, []
for name, (ours, theirs) in choices.items():
    our_weights, curves[name] = train(ours)
    their_weights, _ = train(theirs)
    pairs = zip(our_weights, their_weights, strict=True)
    gap = max((a - b).abs().max().item() for a, b in pairs)
    with torch.no_grad():
        predicted = network(our_weights, X_rings) > 0
    accuracy = (predicted == (y_rings == 1)).double().mean().item()
    rows.append({"optimizer": name, "first loss": curves[name][0],
                 "final loss": curves[name][-1], "accuracy": accuracy,
                 "|ours − torch|": gap})
    assert gap < 1e-6, name
comparison = pd.DataFrame(rows).set_index("optimizer")
print("after 300 steps (|ours − torch|: largest weight difference)")
print(comparison.to_string(float_format=lambda v: f"{v:.3g}"))

# %% [markdown]
# Our four optimizers give the same weights as PyTorch's after 300 steps, to rounding
# (differences around 1e-15). Now the race, from the same starting weights:

# %%
fig, (ax_data, ax_loss) = plt.subplots(1, 2, figsize=(11, 4.5),
                                       layout="constrained")
ax_data.scatter(*points[label == 0].T, s=10, label="class 0 (inner)")
ax_data.scatter(*points[label == 1].T, s=10, label="class 1 (outer)")
ax_data.set_aspect("equal")
ax_data.set_title("The data: 400 points")
ax_data.legend(loc="upper right", fontsize=8)
for name, losses in curves.items():
    ax_loss.plot(np.arange(1, len(losses) + 1), losses, label=name)
ax_loss.set_yscale("log")
ax_loss.set_xlabel("step (all 400 points each)")
ax_loss.set_ylabel("cross-entropy (log scale)")
ax_loss.set_title("Loss during training, same start")
ax_loss.legend()
plt.show()

final = comparison["final loss"]
assert final["Adam, η = 0.01"] < 0.5 * final["SGD, η = 0.1"]
assert final["momentum, η = 0.1"] < 0.5 * final["SGD, η = 0.1"]
assert comparison.loc["Adam, η = 0.01", "accuracy"] > 0.95
assert final["SGD, η = 0.1"] > 0.5          # still near the start

# %% [markdown]
# With these settings, plain SGD has only crept from the starting loss of about 0.7 (ln 2 ≈ 0.69
# is the loss of a coin toss) to 0.6 in 300 steps, while momentum, RMSProp and Adam have solved
# the problem. Two cautions before drawing a general rule:
#
# - The learning rates are not comparable across optimizers. SGD with a larger η would do much
#   better here; momentum is, in effect, SGD with a 10 times larger step once it gets going.
#   Every optimizer has its own good range of η, and finding it is part of the work.
# - Adam's and RMSProp's steps hardly depend on the scale of the gradient, so a learning rate
#   that works on one problem (for Adam, often the default 0.001) tends to work on the next.
#   That robustness, more than speed, is why Adam is the usual first choice.
#
# ## The same choices in bmelearn, on EMG features
#
# bmelearn's `mlp` model is a network of this kind trained on feature vectors; its parameters
# include `hidden` (layer widths, default one layer of 64), `activation` (`sigmoid`, `tanh` or
# `relu`), `optimizer` (`sgd`, `momentum` (μ = 0.9), `rmsprop` or `adam`) and `lr` (default
# 0.001). It minimises the cross-entropy over all gesture classes in mini-batches of 64 windows,
# for at most 50 passes over the data (epochs), with a learning rate that decreases from η
# along a cosine curve, and stops early when the loss on a held-out fifth of the training
# windows (the last fifth of each gesture's windows in time) stops improving.
#
# The data: participant 1 of the public 3DC dataset (10 EMG channels on the forearm at
# 1000 Hz, 11 hand and wrist gestures, two blocks of four repetitions recorded 5 minutes apart,
# named `train` and `test`), when it is on this machine. Otherwise (as in the documentation's
# automatic build) bmelearn's built-in simulator stands in: a simulated armband with 8 EMG
# channels, 7 gestures and two sessions. The cell below looks for the data in the folder named
# by the environment variable `BMELEARN_DATA` (when it is set and not empty), or else in
# `shared/data` beside the bmelearn repository.

# %%
import bmelearn
from bmelearn.datasets import load_dataset
from bmelearn.evaluation import CrossSession, evaluate
from bmelearn.features import FeatureExtractor
from bmelearn.models import make_model
from bmelearn.signals.windowing import cut_windows


def repository_root():
    """The repository: above the working folder or the package."""
    here = Path.cwd().resolve()
    package = Path(bmelearn.__file__).resolve()
    for folder in [here, *here.parents, *package.parents]:
        if ((folder / "pyproject.toml").is_file()
                and (folder / "src" / "bmelearn").is_dir()):
            return folder
    return here


default_data = repository_root().parent / "shared" / "data"
# BMELEARN_DATA unset or empty: the default folder
data_folder = os.environ.get("BMELEARN_DATA") or default_data
threedc = Path(data_folder) / "3dc"
if (threedc / "Participant1").is_dir():
    source = "3DC participant 1"
    recordings = load_dataset("3dc", path=threedc, subjects=[1])
    before, after = "train", "test"
    note = "recorded from a person"
else:
    source = "simulator, 1 subject"
    recordings = load_dataset("simulator", n_subjects=1, seed=0)
    recordings = recordings.select(modalities="emg")
    before, after = "session1", "session2"
    note = "simulated: the 3DC data are not on this machine"
print("data:", source)
print("     ", note)

# %% [markdown]
# Each recording is cut into windows of 200 ms every 100 ms, and each window is described by
# Hudgins' four time-domain features per channel (`HTD`: mean absolute value, zero crossings,
# slope sign changes and waveform length), the classic features of myoelectric control. The
# networks are trained on the first block (session) and tested on the second: a
# **cross-session** evaluation, closer to real use than mixing windows of the same repetition
# into training and test sets.

# %%
windows = cut_windows(recordings, length=0.2, step=0.1)
extractor = FeatureExtractor(["HTD"], fs=recordings[0].fs,
                             ch_names=windows.ch_names["emg"])
features = extractor.fit_transform(windows.X)
n_classes = len(windows.classes)
print(f"{features.shape[0]} windows × {features.shape[1]} features")
print(f"{n_classes} gestures:")
for first in range(0, n_classes, 4):
    print("   ", ", ".join(windows.classes[first:first + 4]))

# %% [markdown]
# Seven networks, each with bmelearn's defaults except the choice under study (and the same
# `random_state`, so the same starting weights): the four optimizers with ReLU at η = 0.001,
# plain SGD at η = 0.1, and the two other activations with Adam.

# %%
settings = [   # (activation, optimizer, learning rate)
    ("relu", "sgd", 0.001), ("relu", "momentum", 0.001),
    ("relu", "rmsprop", 0.001), ("relu", "adam", 0.001),
    ("relu", "sgd", 0.1),
    ("sigmoid", "adam", 0.001), ("tanh", "adam", 0.001),
]


def setting_name(activation, optimizer, lr):
    return f"{activation}, {optimizer}, η = {lr:g}"


models = {}
for activation, optimizer, lr in settings:
    name = setting_name(activation, optimizer, lr)
    models[name] = make_model("mlp", activation=activation, lr=lr,
                              optimizer=optimizer, random_state=0)
cross_session = CrossSession(train=[before], test=[after])
protocol = {"cross-session": cross_session}
evaluation = evaluate(features, windows.meta, models, protocol,
                      windows.classes, dataset=source)
scores = (evaluation.results.query("metric == 'accuracy'")
          .set_index("pipeline")[["value", "ci_low", "ci_high"]]
          .rename(columns={"value": "accuracy"}))
print(f"cross-session accuracy, {source}, with 95 % intervals")
print(f"(chance: 1/{n_classes} = {1 / n_classes:.2f})")
print(scores.round(3).to_string())

# %% [markdown]
# Each accuracy's interval comes from bmelearn's evaluation: a bootstrap that resamples whole
# test trials (repetitions of a gesture), never single windows, since the windows of one trial
# are not independent. With only a few repetitions per gesture these intervals are approximate.

# %%
fig, ax = plt.subplots(figsize=(8, 3.8))
positions = np.arange(len(scores))
ax.barh(positions, scores["accuracy"], color="C0")
below = scores["accuracy"] - scores["ci_low"]
above = scores["ci_high"] - scores["accuracy"]
ax.errorbar(scores["accuracy"], positions, xerr=[below, above],
            fmt="none", ecolor="k", capsize=3)
ax.axvline(1 / n_classes, color="C3", ls="--", label="chance")
ax.set_yticks(positions, scores.index)
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.set_xlabel("cross-session accuracy")
ax.set_title(f"bmelearn mlp on HTD features: {source}", fontsize=10)
ax.legend(loc="upper right")
plt.show()

accuracy = scores["accuracy"]
chance = 1 / n_classes
with_adam = accuracy[[setting_name(activation, "adam", 0.001)
                      for activation in ["relu", "sigmoid", "tanh"]]]
assert (with_adam > 3 * chance).all()
assert with_adam.max() - with_adam.min() < 0.05
adam = accuracy[setting_name("relu", "adam", 0.001)]
sgd = accuracy[setting_name("relu", "sgd", 0.001)]
momentum = accuracy[setting_name("relu", "momentum", 0.001)]
rmsprop = accuracy[setting_name("relu", "rmsprop", 0.001)]
sgd_fast = accuracy[setting_name("relu", "sgd", 0.1)]
assert sgd < adam - 0.3
assert sgd < momentum < adam and abs(rmsprop - adam) < 0.03
assert abs(sgd_fast - adam) < 0.03

# %% [markdown]
# What the numbers say, for the recorded and the simulated data alike:
#
# - With Adam, all three activations reach an accuracy several times the chance level, and
#   differ by less than 5 points: on features like these, with one hidden layer, the
#   activation matters much less than in deep networks.
# - Plain SGD at bmelearn's default η = 0.001 is far behind after 50 epochs: the same lesson
#   as the two rings. Momentum gets further with the same η; RMSProp and Adam get there
#   (within 3 points of each other).
# - Plain SGD with η = 0.1 does as well as Adam, to within 3 points. The optimizer and its
#   learning rate are one choice, not two. Adam, bmelearn's default, is the safer choice when
#   there is no time to tune η.
#
# These comparisons are on one participant: the intervals show how much a single accuracy can
# move. To claim that one setting is better in general, compare them over many participants,
# with paired tests, as bmelearn's evaluation does in an experiment file.
#
# ## What to read next
#
# - User guide: [Models](../../guide/models/) lists the `mlp`'s parameters and the other
#   networks (convolutional and recurrent ones on raw windows);
#   [Features](../../guide/features/) describes HTD and the other feature sets;
#   [Evaluation and statistics](../../guide/evaluation/) explains the cross-session protocol, the
#   intervals and the paired comparisons of models.
# - Next tutorial: [Heart-attack risk from blood pressure and BMI](../04_heart_risk/), a
#   clinical model on tabular data.
