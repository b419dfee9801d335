# %% [markdown]
# # XOR with a hidden layer and backpropagation
#
# One neuron draws one straight line, so it cannot learn XOR (see the previous tutorial). Here
# you add a hidden layer of neurons in front of it, write the forward pass and the gradient of
# every weight by hand in NumPy (backpropagation), check those gradients against PyTorch's
# automatic differentiation, train the network until it solves XOR, and look at the curved
# decision boundary it draws. You should know the single neuron, the squared error and gradient
# descent from [the first tutorial](../01_perceptron/), and the chain rule; matrix products in
# NumPy (`A @ B`) are used throughout.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

np.set_printoptions(precision=4, suppress=True)

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
t = np.array([0, 1, 1, 0], dtype=float)       # XOR targets

# %% [markdown]
# ## The network: 2 inputs, H hidden neurons, 1 output
#
# Each hidden neuron j is the neuron of the first tutorial: its own weights and bias, a weighted
# sum, a sigmoid. The output neuron does the same with the H hidden activations as its inputs.
# For one input row x = (x1, x2):
#
# ```text
# hidden:  z_j = W1[0,j]·x1 + W1[1,j]·x2 + b1[j]     a_j = σ(z_j)        j = 1 … H
# output:  h   = W2[0]·a_1 + … + W2[H−1]·a_H + b2     p   = σ(h)
# error:   E   = (1/N) · Σ_i ½ (p_i − t_i)²           (the mean over the N rows)
# ```
#
# With the N rows stacked in a matrix X (N × 2), the whole forward pass is two matrix products:
# `A = σ(X @ W1 + b1)` (N × H) and `p = σ(A @ W2 + b2)` (N values). W1 is 2 × H, b1 has H values,
# W2 has H values and b2 is one number. We start with H = 2 and small random weights.

# %%
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def init(n_hidden, seed):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, 1, (2, n_hidden)),
            "b1": np.zeros(n_hidden),
            "W2": rng.normal(0, 1, n_hidden),
            "b2": np.zeros(())}


def forward(params, X):
    A = sigmoid(X @ params["W1"] + params["b1"])  # hidden, N × H
    p = sigmoid(A @ params["W2"] + params["b2"])  # outputs, N
    return A, p


def error(p, t):
    return np.mean(0.5 * (p - t) ** 2)


params = init(n_hidden=2, seed=0)
A, p = forward(params, X)
print("hidden activations A:\n", A)
print("outputs p:", p, " error E =", round(error(p, t), 4))

# %% [markdown]
# ## Backpropagation, by hand
#
# We need ∂E/∂ for every weight. The chain rule, applied from the error backwards, layer by
# layer, is **backpropagation**. Call δ the derivative of E with respect to a neuron's weighted
# sum: it is the error signal arriving at that neuron.
#
# At the output (as for the single neuron, with the 1/N of the mean):
#
# ```text
# δ2_i = ∂E/∂h_i = (p_i − t_i) / N · p_i · (1 − p_i)
# ∂E/∂W2[j] = Σ_i δ2_i · a_ij          ∂E/∂b2 = Σ_i δ2_i
# ```
#
# A hidden neuron j influences E only through the output, with the weight W2[j]; so its error
# signal is the output's, sent back through that weight, times its own sigmoid's slope:
#
# ```text
# δ1_ij = ∂E/∂z_ij = δ2_i · W2[j] · a_ij · (1 − a_ij)
# ∂E/∂W1[k,j] = Σ_i x_ik · δ1_ij        ∂E/∂b1[j] = Σ_i δ1_ij
# ```
#
# In matrix form this is four lines of NumPy: the backward pass reuses the activations of the
# forward pass, and costs about as much.

# %%
def backward(params, X, t):
    A, p = forward(params, X)
    delta2 = (p - t) / len(X) * p * (1 - p)                # N
    delta1 = np.outer(delta2, params["W2"]) * A * (1 - A)  # N × H
    return {"W1": X.T @ delta1, "b1": delta1.sum(axis=0),
            "W2": A.T @ delta2, "b2": delta2.sum()}


grads = backward(params, X, t)
for name, g in grads.items():
    print(f"∂E/∂{name} =", np.round(g, 5).tolist())

# %% [markdown]
# ## Checking the hand gradients against PyTorch's autograd
#
# PyTorch records every operation on tensors that `require_grad` and differentiates the whole
# computation automatically (`loss.backward()`). Run the same forward pass in PyTorch from the
# same weights, in float64 (double precision, like NumPy) so that the comparison is not limited
# by rounding, and compare every gradient. We do it twice: on the four XOR rows at the starting
# weights, and on 50 random points with random weights and H = 5.

# %%
def autograd_gradients(params, X, t):
    weights = {k: torch.tensor(v, dtype=torch.float64,
                               requires_grad=True)
               for k, v in params.items()}
    Xt = torch.tensor(X, dtype=torch.float64)
    tt = torch.tensor(t, dtype=torch.float64)
    A = torch.sigmoid(Xt @ weights["W1"] + weights["b1"])
    p = torch.sigmoid(A @ weights["W2"] + weights["b2"])
    loss = torch.mean(0.5 * (p - tt) ** 2)
    loss.backward()
    return {k: w.grad.numpy() for k, w in weights.items()}


def largest_difference(params, X, t):
    by_hand = backward(params, X, t)
    by_torch = autograd_gradients(params, X, t)
    return max(np.abs(by_hand[k] - by_torch[k]).max() for k in params)


rng = np.random.default_rng(1)
X_random = rng.normal(size=(50, 2))
t_random = rng.integers(0, 2, 50).astype(float)
gap_xor = largest_difference(params, X, t)
params_5 = init(n_hidden=5, seed=2)
gap_random = largest_difference(params_5, X_random, t_random)
print("largest |hand − autograd| over all weights:")
print(f"  XOR rows, H = 2:       {gap_xor:.1e}")
print(f"  random points, H = 5:  {gap_random:.1e}")
assert gap_xor < 1e-6 and gap_random < 1e-6

# %% [markdown]
# The two agree to about 1e-17, the rounding of double precision: the hand derivation is right.
# (In practice you let autograd do this; writing it once by hand shows there is no magic in it.)
#
# ## Training until XOR is solved
#
# Gradient descent as before, every weight moving against its gradient with the learning rate
# η = 5, for 2000 steps over the four rows (full batch).

# %%
def train(params, X, t, eta=5.0, steps=2000):
    params = {k: v.copy() for k, v in params.items()}
    history = []
    for _ in range(steps):
        grads = backward(params, X, t)
        for k in params:
            params[k] = params[k] - eta * grads[k]
        history.append(error(forward(params, X)[1], t))
    return params, np.array(history)


def accuracy(params, X, t):
    return float(np.mean((forward(params, X)[1] >= 0.5) == t))


net, history = train(params, X, t)
A, p = forward(net, X)
acc_xor = accuracy(net, X, t)
table = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "a1": A[:, 0],
                      "a2": A[:, 1], "p": p, "target": t})
table = table.astype({"x1": int, "x2": int, "target": int}).round(3)
print(table.to_string(index=False))
print(f"error E: {history[0]:.4f} after 1 step, "
      f"{history[-1]:.5f} after {len(history)} steps")
print(f"accuracy on the four rows: {acc_xor:.2f}")
assert acc_xor >= 0.99
assert history[-1] < 0.001

# %% [markdown]
# All four rows are right, with outputs close to 0 and 1. Look at the hidden columns a1 and a2:
# the network has made its own features, each one linearly separable. From this start, a2 is on
# only for (0,1) ("x2 and not x1"), and a1 is on everywhere except (1,0) ("not (x1 and not
# x2)"). In the plane (a1, a2) the four rows are no longer in an XOR arrangement: (0,1) has a
# high a2, (1,0) a low a1, the other two a high a1 and a low a2, and the output neuron separates
# them with a single line, as in the previous tutorial. Which features the hidden neurons pick
# depends on the starting weights.
#
# ### Does it always work?
#
# Not with two hidden neurons. From some starting weights gradient descent drifts onto a
# **plateau**: a region where the error surface is almost flat, so that the error still falls,
# but so slowly that XOR is not solved in any reasonable number of steps. It is not a local
# minimum (a point where every small change of the weights makes the error worse): the error of
# this 2-2-1 network on XOR has none (Hamey, *Neural Networks* 1998), but a plateau stalls
# gradient descent just as well. Try 20 starting seeds with H = 2 and with H = 3:

# %%
solved, stuck = {}, {}
for n_hidden in (2, 3):
    solved[n_hidden] = 0
    for seed in range(20):
        net_s, history_s = train(init(n_hidden, seed), X, t)
        if accuracy(net_s, X, t) == 1.0:
            solved[n_hidden] += 1
        elif n_hidden == 2:
            stuck[seed] = history_s
    print(f"H = {n_hidden}: XOR solved from {solved[n_hidden]} "
          f"of 20 starting points")
assert solved[3] == 20
assert solved[2] < 20

print("H = 2, the seeds that did not solve it: error E after")
print("seed  1000 steps  2000 steps")
for seed, history_s in stuck.items():
    after_1000, after_2000 = history_s[999], history_s[1999]
    print(f"{seed:4d}  {after_1000:.5f}     {after_2000:.5f}")
    # on a plateau: still falling, slowly, far above a solution's
    assert after_2000 < after_1000 < 1.05 * after_2000
    assert after_2000 > 100 * history[-1]

# %% [markdown]
# The networks that failed are still improving, but their error has fallen by only a few
# per cent in the last 1000 steps and is more than a hundred times that of the network that
# solved XOR above. A few spare hidden neurons make training far more reliable: a wider
# network has more ways down to a good solution. This is one reason real networks are larger
# than the smallest that could in principle fit the data.
#
# ## A noisy XOR cloud
#
# Real measurements are never exactly 0 or 1. Draw 400 training points and 400 separate test
# points scattered around the four corners (Gaussian noise, standard deviation 0.12), each
# labelled with the XOR of its corner, and train a network with H = 4 on the training points
# only.

# %%
def xor_cloud(n, rng, noise=0.12):
    corners = rng.integers(0, 2, size=(n, 2))
    points = corners + rng.normal(0, noise, size=(n, 2))
    return points, (corners[:, 0] ^ corners[:, 1]).astype(float)


rng = np.random.default_rng(0)
X_train, t_train = xor_cloud(400, rng)
X_test, t_test = xor_cloud(400, rng)
cloud_net, cloud_history = train(init(n_hidden=4, seed=0),
                                 X_train, t_train, steps=3000)
acc_train = accuracy(cloud_net, X_train, t_train)
acc_test = accuracy(cloud_net, X_test, t_test)
print(f"noisy XOR: training accuracy {acc_train:.3f}, "
      f"test accuracy {acc_test:.3f}")
assert acc_train >= 0.99 and acc_test >= 0.99

# %% [markdown]
# ## Decision boundaries
#
# Evaluate the network on a fine grid over the plane and colour each point by the output p. The
# black curve is p = 0.5, where the prediction switches. The dashed lines are the hidden neurons'
# own boundaries z_j = 0: the output's curved boundary is built from them. A second plot shows
# the training error, step by step.

# %%
grid = np.linspace(-0.5, 1.5, 201)
G1, G2 = np.meshgrid(grid, grid)
plane = np.column_stack([G1.ravel(), G2.ravel()])
levels = np.linspace(0, 1, 11)
panels = [(net, X, t, "XOR, H = 2", 150),
          (cloud_net, X_test, t_test, "noisy XOR, test, H = 4", 25)]

fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for ax, panel in zip(axes, panels, strict=True):
    model, points, labels, title, size = panel
    surface = forward(model, plane)[1].reshape(G1.shape)
    filled = ax.contourf(G1, G2, surface, levels=levels,
                         cmap="RdBu_r", alpha=0.8)
    ax.contour(G1, G2, surface, levels=[0.5], colors="k",
               linewidths=2)
    for j in range(model["W1"].shape[1]):   # hidden neuron j: z_j = 0
        w1, w2 = model["W1"][:, j]
        ax.plot(grid, -(w1 * grid + model["b1"][j]) / w2, "k--", lw=1)
    ax.scatter(*points[labels == 0].T, marker="o", facecolors="white",
               edgecolors="k", s=size, label="target 0")
    ax.scatter(*points[labels == 1].T, marker="s", color="gold",
               edgecolors="k", s=size, label="target 1")
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal",
           xlabel="x1", ylabel="x2", title=title)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
fig.colorbar(filled, ax=axes, label="network output p", shrink=0.8)
plt.show()

fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.semilogy(history, label="XOR, H = 2")
ax.semilogy(cloud_history, label="noisy XOR, H = 4")
ax.set(xlabel="gradient descent step", ylabel="error E (log scale)",
       title="Training error")
ax.legend()
plt.show()

# %% [markdown]
# On the four points, the two hidden neurons' lines (dashed; one lies under the black curve) are
# nearly parallel. They cut the plane into three strips: the middle one holds (0,0) and (1,1),
# where p is close to 0, and the outer ones hold (0,1) and (1,0), where p is close to 1. No single
# line could do that. On the noisy cloud, four hidden neurons give a smoother curved boundary that
# runs through the gaps between the four clusters.
#
# Both error curves show a long plateau before the drop, typical of sigmoid networks started
# from small weights: the hidden neurons first have to become different from each other.
#
# ## What to read next
#
# - Next tutorial: [Activation functions and optimizers](../03_activations_optimizers/): why ReLU
#   and tanh often train faster than the sigmoid, and how momentum, RMSProp and Adam improve on
#   plain gradient descent.
# - User guide: [Models](../../guide/models/) describes bmelearn's `mlp`, a network of this kind
#   (with more inputs, layers and classes) trained on signal features, and
#   [Evaluation and statistics](../../guide/evaluation/) explains why accuracy must be measured on
#   data the model was not trained on, as with the separate test cloud here.
