# %% [markdown]
# # A neuron and a perceptron by hand
#
# This tutorial builds one artificial neuron from scratch with NumPy: a weighted sum of the
# inputs followed by a nonlinearity. You fill in the OR truth table by hand, measure how wrong
# the neuron is with the squared error, derive the gradient of that error with the chain rule,
# check it numerically, and let gradient descent fix the weights. At the end you will see why
# one neuron can learn OR and AND but never XOR. You need derivatives and the chain rule, and
# enough Python to read NumPy arrays; no machine-learning background is assumed.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## A neuron: a weighted sum, then a nonlinearity
#
# A neuron with two inputs x1 and x2 multiplies each by a weight, adds a bias b, and passes
# the sum h through an activation function:
#
# ```text
# h = w1·x1 + w2·x2 + b    (the weighted sum)
# p = f(h)                 (the activation)
# ```
#
# Three common choices for f:
#
# | name    | formula                 | output                          |
# |---------|-------------------------|---------------------------------|
# | sigmoid | σ(h) = 1 / (1 + e^(−h)) | between 0 and 1: a probability  |
# | tanh    | tanh(h)                 | between −1 and 1, centred on 0  |
# | ReLU    | max(0, h)               | 0 for h < 0, h itself otherwise |
#
# The weighted sum alone is linear, like a filter with fixed gains. The nonlinearity is what lets
# networks of such neurons represent curved decision boundaries. Here the output p should be a
# probability that the answer is 1, so we use the sigmoid.

# %%
def sigmoid(h):
    return 1.0 / (1.0 + np.exp(-h))


def relu(h):
    return np.maximum(0.0, h)


h_axis = np.linspace(-5, 5, 201)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(h_axis, sigmoid(h_axis), label="sigmoid σ(h)")
ax.plot(h_axis, np.tanh(h_axis), label="tanh(h)")
ax.plot(h_axis, relu(h_axis), label="ReLU max(0, h)")
ax.axhline(0, color="grey", lw=0.5)
ax.axvline(0, color="grey", lw=0.5)
ax.set_ylim(-1.2, 2.2)
ax.set_xlabel("weighted sum h")
ax.set_ylabel("activation f(h)")
ax.legend()
ax.set_title("Three activation functions")
plt.show()

# %% [markdown]
# ## The OR table, filled in by hand
#
# The logical OR of two bits is 1 when at least one input is 1. Take a neuron with the weights
# w1 = 1, w2 = −1 and the bias b = −0.5 (chosen by hand, and not yet good ones) and fill in its
# table for the four input rows.
#
# With these weights h = x1 − x2 − 0.5 and p = σ(h); the prediction is 1 when p ≥ 0.5, that
# is, when h ≥ 0:
#
# | x1, x2 | h    | p    | prediction (OR target) |
# |--------|------|------|------------------------|
# | 0, 0   | −0.5 | 0.38 | 0 (0)                  |
# | 0, 1   | −1.5 | 0.18 | 0 (1)                  |
# | 1, 0   | 0.5  | 0.62 | 1 (1)                  |
# | 1, 1   | −0.5 | 0.38 | 0 (1)                  |
#
# Now the same in code, for all four rows at once: each row of `X` is one input pair, and the
# weighted sum of all rows is the matrix product `X @ w + b`.

# %%
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
t_or = np.array([0, 1, 1, 1], dtype=float)

w = np.array([1.0, -1.0])
b = -0.5

h = X @ w + b
p = sigmoid(h)
prediction = (p >= 0.5).astype(int)

table = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "h": h,
                      "p = σ(h)": p, "prediction": prediction,
                      "OR target": t_or})
table = table.astype({"x1": int, "x2": int, "OR target": int})
table = table.round(2)
print(table.to_string(index=False))

assert np.round(h, 2).tolist() == [-0.5, -1.5, 0.5, -0.5]
assert np.round(p, 2).tolist() == [0.38, 0.18, 0.62, 0.38]
assert prediction.tolist() == [0, 0, 1, 0]

# %% [markdown]
# Only two of the four rows are right: this neuron computes "x1 and not x2", not OR.

# %% [markdown]
# ## How wrong is it? The squared error
#
# To improve the neuron we need one number that says how wrong it is. The squared error sums,
# over the four rows i, the squared distance between the output p_i and the target t_i (the
# factor ½ only makes the derivative tidier):
#
# ```text
# E = ½ · Σ_i (p_i − t_i)²
# ```
#
# E is 0 for a perfect neuron and grows as the outputs move away from the targets.

# %%
def squared_error(p, t):
    return 0.5 * np.sum((p - t) ** 2)


E0 = squared_error(p, t_or)
print(f"squared error of the hand-made neuron on OR: E = {E0:.4f}")
assert round(E0, 2) == 0.67

# %% [markdown]
# ## The gradient, by the chain rule
#
# E depends on a weight only through the chain w1 → h_i → p_i → E. For one row the chain rule
# gives three factors:
#
# ```text
# ∂E/∂p_i  = p_i − t_i
# ∂p_i/∂h_i = σ'(h_i) = p_i · (1 − p_i)
# ∂h_i/∂w1 = x1_i,  ∂h_i/∂w2 = x2_i,  ∂h_i/∂b = 1
# ```
#
# Summed over the rows, with the shorthand δ_i = (p_i − t_i) · p_i · (1 − p_i) (the error signal
# arriving at h_i):
#
# ```text
# ∂E/∂w1 = Σ_i δ_i · x1_i
# ∂E/∂w2 = Σ_i δ_i · x2_i
# ∂E/∂b  = Σ_i δ_i
# ```
#
# (The sigmoid's derivative can be written with its own output: σ'(h) = σ(h) · (1 − σ(h)).)
# The gradient points to where E grows fastest; a step against it lowers E.

# %%
def gradient(w, b, X, t):
    p = sigmoid(X @ w + b)
    delta = (p - t) * p * (1 - p)
    # (∂E/∂w1, ∂E/∂w2) and ∂E/∂b
    return X.T @ delta, delta.sum()


grad_w, grad_b = gradient(w, b, X, t_or)
print(f"∂E/∂w1 = {grad_w[0]:+.4f}   ∂E/∂w2 = {grad_w[1]:+.4f}")
print(f"∂E/∂b  = {grad_b:+.4f}")
assert np.round(grad_w, 3).tolist() == [-0.235, -0.268]
assert round(grad_b, 3) == -0.268

# %% [markdown]
# ### Check it with a finite difference
#
# A derivation by hand is easy to get wrong, so check it numerically: nudge one parameter by a
# small ε up and down and see how E changes, `(E(θ + ε) − E(θ − ε)) / (2ε)`. This central
# difference is accurate to about ε², so the two should agree to many digits.

# %%
def error_of(params):
    return squared_error(sigmoid(X @ params[:2] + params[2]), t_or)


theta = np.array([w[0], w[1], b])
eps = 1e-6
# e runs over the unit vectors: one parameter nudged at a time
numeric = np.array([
    (error_of(theta + eps * e) - error_of(theta - eps * e)) / (2*eps)
    for e in np.eye(3)])
analytic = np.array([grad_w[0], grad_w[1], grad_b])
check = pd.DataFrame({"by hand": analytic, "numerical": numeric},
                     index=["∂E/∂w1", "∂E/∂w2", "∂E/∂b"])
print(check)
max_gap = np.max(np.abs(analytic - numeric))
print(f"largest difference: {max_gap:.1e}")
assert max_gap < 1e-8

# %% [markdown]
# All three derivatives are negative: raising either weight or the bias lowers the error. That is
# what OR needs: the rows (0,1) and (1,1) have outputs far below their target 1, and raising w2
# and b pushes their h up (and raising w1 helps (1,1) as well).
#
# ## Ten steps of gradient descent
#
# Gradient descent repeats one update with a learning rate η (here η = 2):
#
# ```text
# w1 ← w1 − η · ∂E/∂w1
# w2 ← w2 − η · ∂E/∂w2
# b  ← b  − η · ∂E/∂b
# ```

# %%
eta = 2.0
w_gd, b_gd = w.copy(), b
errors = [squared_error(sigmoid(X @ w_gd + b_gd), t_or)]
print(f"step  0: E = {errors[0]:.4f}   w1 = {w_gd[0]:+.3f}"
      f" w2 = {w_gd[1]:+.3f} b = {b_gd:+.3f}")
for step in range(1, 11):
    g_w, g_b = gradient(w_gd, b_gd, X, t_or)
    w_gd = w_gd - eta * g_w
    b_gd = b_gd - eta * g_b
    errors.append(squared_error(sigmoid(X @ w_gd + b_gd), t_or))
    print(f"step {step:2d}: E = {errors[-1]:.4f}   "
          f"w1 = {w_gd[0]:+.3f} w2 = {w_gd[1]:+.3f} b = {b_gd:+.3f}")

assert all(np.diff(errors) < 0)      # the error falls at every step
assert round(errors[-1], 2) == 0.14
p_gd = sigmoid(X @ w_gd + b_gd)
predicted_gd = (p_gd >= 0.5).astype(int)
print("predictions after 10 steps:", predicted_gd)
print("OR targets:                ", t_or.astype(int))
assert (predicted_gd == t_or).all()     # those of OR

# %% [markdown]
# The error falls at every step, from 0.67 to about 0.14, and the four predictions are already
# those of OR.
#
# ## Training to solve OR and AND
#
# The same loop, run longer, gives a confident neuron. We wrap it in a function and train it from
# the same starting weights on OR and on AND (1 only when both inputs are 1).

# %%
def train(t, w, b, eta=2.0, steps=1000):
    """Gradient descent: the weights, and the error at each step."""
    history = []
    for _ in range(steps):
        g_w, g_b = gradient(w, b, X, t)
        w, b = w - eta * g_w, b - eta * g_b
        history.append(squared_error(sigmoid(X @ w + b), t))
    return w, b, np.array(history)


targets = {"OR": t_or,
           "AND": np.array([0, 0, 0, 1], dtype=float),
           "XOR": np.array([0, 1, 1, 0], dtype=float)}
trained = {}
w_start, b_start = np.array([1.0, -1.0]), -0.5  # the hand-made one
for name in ["OR", "AND"]:
    w_fit, b_fit, history = train(targets[name], w_start, b_start)
    trained[name] = (w_fit, b_fit, history)
    p_fit = sigmoid(X @ w_fit + b_fit)
    correct = int(np.sum((p_fit >= 0.5) == targets[name]))
    print(f"{name}: w1 = {w_fit[0]:.2f}, w2 = {w_fit[1]:.2f}, "
          f"b = {b_fit:.2f}")
    print(f"     p = {p_fit.round(3)}, E = {history[-1]:.4f}, "
          f"{correct}/4 rows correct")
    assert correct == 4
    assert history[-1] < 0.01

# %% [markdown]
# Both are solved: OR ends with two equal positive weights and a small negative bias
# (h > 0 as soon as one input is 1), AND with a bias so negative that both inputs are needed.
#
# ## XOR: what a single neuron cannot learn
#
# XOR (exclusive or) is 1 when exactly one input is 1: targets 0, 1, 1, 0. Train the same neuron
# for many more steps:

# %%
w_xor, b_xor, history_xor = train(targets["XOR"], w_start, b_start,
                                  steps=5000)
p_xor = sigmoid(X @ w_xor + b_xor)
correct_xor = int(np.sum((p_xor >= 0.5) == targets["XOR"]))
print(f"XOR after 5000 steps: w1 = {w_xor[0]:.4f}, "
      f"w2 = {w_xor[1]:.4f}, b = {b_xor:.4f}")
print(f"p = {p_xor.round(3)}")
print(f"E = {history_xor[-1]:.4f}; {correct_xor}/4 rows correct")
# the weights and the bias have shrunk to zero: p = 0.5 on every row
assert np.abs(np.r_[w_xor, b_xor]).max() < 0.01
assert np.abs(p_xor - 0.5).max() < 0.01
assert history_xor[-1] > 0.49

# %% [markdown]
# Gradient descent gives up: both weights and the bias shrink to zero, so p = 0.5 for every row
# ("I don't know") and E settles at 0.5. This is not a matter of more steps or another learning
# rate.
#
# **Why.** The neuron predicts 1 where h = w1·x1 + w2·x2 + b > 0, so its decision boundary is the
# straight line w1·x1 + w2·x2 + b = 0: one side is class 1, the other class 0. XOR would need
#
# ```text
# (0,0) → 0:   b < 0
# (0,1) → 1:   w2 + b > 0
# (1,0) → 1:   w1 + b > 0
# (1,1) → 0:   w1 + w2 + b < 0
# ```
#
# Adding the two middle lines gives w1 + w2 + 2b > 0, so w1 + w2 + b > −b > 0, which contradicts
# the last line. No line puts (0,1) and (1,0) on one side and (0,0) and (1,1) on the other: XOR is
# not **linearly separable**. We can also try it by brute force: 20 000 random lines, counting how
# many of the four XOR rows each gets right.

# %%
rng = np.random.default_rng(0)
lines = rng.normal(size=(20_000, 3))          # columns: w1, w2, b
says_one = (X @ lines[:, :2].T + lines[:, 2]) > 0   # 4 × 20 000
right = says_one == (targets["XOR"][:, None] == 1)
best = int(right.sum(axis=0).max())
print(f"best of 20 000 random lines on XOR: {best}/4 rows correct")
assert best == 3

# %% [markdown]
# The picture: the lines learned for OR and AND each separate their classes. Put on XOR, each
# falls short. OR's line says 1 for (0,1), (1,0) and (1,1): three of the four XOR rows right.
# AND's line says 1 only for (1,1), so on XOR it gets just one row right, (0,0); read the
# other way round (the side of (1,1) as 0), it gets three. No line, either way round, gets
# all four.

# %%
def boundary(ax, w, b, **style):
    x1 = np.array([-0.5, 1.5])
    ax.plot(x1, -(w[0] * x1 + b) / w[1], **style)  # h = 0, for x2


def xor_rows_right(w, b):
    """How many of the four XOR rows the line h = 0 gets right."""
    says_one = X @ w + b > 0
    return int(np.sum(says_one == (targets["XOR"] == 1)))


on_xor = {name: xor_rows_right(*trained[name][:2])
          for name in ["OR", "AND"]}
for name, right in on_xor.items():
    print(f"{name}'s line on XOR: {right}/4 rows right, "
          f"{4 - right}/4 with its sides swapped")
assert on_xor == {"OR": 3, "AND": 1}


fig, axes = plt.subplots(1, 3, figsize=(12, 4.6), sharey=True,
                         layout="constrained")
for ax, name in zip(axes, ["OR", "AND", "XOR"], strict=True):
    t = targets[name]
    ax.scatter(*X[t == 0].T, s=150, marker="o", facecolors="white",
               edgecolors="C3", lw=2, label="target 0")
    ax.scatter(*X[t == 1].T, s=150, marker="s", color="C0",
               label="target 1")
    if name == "XOR":
        right = on_xor["OR"]
        boundary(ax, *trained["OR"][:2], color="C2", ls="--",
                 label=f"OR's line: {right}/4")
        right = on_xor["AND"]
        boundary(ax, *trained["AND"][:2], color="C4", ls=":",
                 label=f"AND's line: {right}/4\n"
                       f"({4 - right}/4 with its sides swapped)")
    else:
        boundary(ax, *trained[name][:2], color="k",
                 label="learned line")
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.5, 1.5)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_title(name)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15),
              fontsize=9)
axes[0].set_ylabel("x2")
fig.suptitle("One neuron draws one straight line")
plt.show()

# %% [markdown]
# The way out is to combine neurons: two lines, each drawn by a hidden neuron, can cut the plane
# into three strips, with (0,0) and (1,1) in the middle one and (0,1) and (1,0) in the outer
# ones. Training such a network needs the gradient through more than one layer, which is
# backpropagation, the subject of the next tutorial.
#
# ## What to read next
#
# - Next tutorial: [XOR with a hidden layer and backpropagation](../02_xor_backprop/).
# - User guide: [Models](../../guide/models/) lists the models bmelearn trains, from linear
#   discriminant analysis (a single linear boundary per pair of classes, like the neuron here) to
#   neural networks; [Features](../../guide/features/) describes the numbers computed from each
#   signal window that such models take as their inputs x1, x2, …
