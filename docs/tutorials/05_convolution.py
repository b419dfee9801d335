# %% [markdown]
# # Convolution on images and signals
#
# A convolution slides a small set of weights, the *kernel*, along a signal or over an image
# and takes a weighted sum at every position. You already know it as the FIR filter of signal
# processing; a convolutional neural network (CNN) is a stack of such filters whose weights
# are learned from examples instead of designed by hand. In this tutorial you
#
# 1. compute a 1-D convolution by hand on a simulated EMG signal (a moving average and a
#    derivative) and check it against NumPy and SciPy;
# 2. slide 2-D kernels over a generated medical-style image;
# 3. train a small CNN (PyTorch) to find a small bright "lesion" in 32 × 32 phantom images;
# 4. measure what data augmentation does for a small training set;
# 5. reuse the convolutional layers of a network pretrained on another task (transfer learning);
# 6. train bmelearn's 1-D CNN on raw EMG windows, beside the classical features + LDA.
#
# You should know what a neuron, a loss and gradient descent are (the first three tutorials).
# Everything runs on the CPU in well under a minute; all data are generated here (the EMG is
# bmelearn's built-in simulator), nothing is downloaded.

# %%
import textwrap
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import signal
from torch import nn

from bmelearn.datasets import load_dataset
from bmelearn.evaluation import CrossSession, evaluate
from bmelearn.features import FeatureExtractor
from bmelearn.models import make_model
from bmelearn.signals.windowing import cut_windows

started = time.perf_counter()
# tiny networks: one thread is fastest, and the results reproducible
torch.set_num_threads(1)
torch.manual_seed(0)
np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. A convolution on a signal
#
# The convolution of a signal x with a kernel h is
#
#     y[n] = Σ_k h[k] · x[n − k]
#
# Each output sample is a weighted sum of the input samples around it; the kernel is flipped
# (h[0] weights the current sample, h[1] the previous one, and so on). We take 2 s of one
# channel of simulated forearm EMG (bmelearn's simulator, a "hand close" gesture, 1000 Hz) and
# write the sum out with two loops, exactly as the formula says.

# %%
recordings = load_dataset(
    "simulator", n_subjects=1, n_sessions=2, n_repetitions=3, seed=0
).select(modalities="emg")
trial = next(r for r in recordings if r.meta["label"] == "hand close")
fs = trial.fs
x = trial.data[0, : int(2 * fs)]  # channel EMG1, in mV (simulated)
rms = np.sqrt(np.mean(x**2))
print(f"simulated EMG: {trial.ch_names[0]}, {len(x)} samples"
      f" at {fs:g} Hz, RMS {rms:.3f} mV")


def convolve_by_hand(x, h):
    """y[n] = sum_k h[k] x[n - k], wherever a term exists ("full")."""
    y = np.zeros(len(x) + len(h) - 1)
    for n in range(len(y)):
        for k in range(len(h)):
            if 0 <= n - k < len(x):
                y[n] += h[k] * x[n - k]
    return y


# 100 ms at 1 kHz: the mean of the last 100 samples
moving_average = np.full(100, 1 / 100)
derivative = np.array([1.0, -1.0])  # y[n] = x[n] - x[n-1]

envelope = convolve_by_hand(np.abs(x), moving_average)
slope = convolve_by_hand(x, derivative)
by_numpy = np.convolve(np.abs(x), moving_average)
err_ma = np.max(np.abs(envelope - by_numpy))
err_d = np.max(np.abs(slope - np.convolve(x, derivative)))
# a causal FIR filter (scipy.signal.lfilter) gives the first len(x)
# samples of the full convolution
causal = signal.lfilter(moving_average, 1.0, np.abs(x))
err_lfilter = np.max(np.abs(envelope[: len(x)] - causal))
err_diff = np.max(np.abs(slope[1 : len(x)] - np.diff(x)))
print(f"by hand vs numpy.convolve: moving average {err_ma:.1e},"
      f" derivative {err_d:.1e}")
print(f"by hand vs scipy.signal.lfilter: {err_lfilter:.1e}")
print(f"derivative by hand vs numpy.diff: {err_diff:.1e}")
assert max(err_ma, err_d, err_lfilter, err_diff) < 1e-12

# %% [markdown]
# The two kernels are filters, and their frequency response says what they keep. The moving
# average is a low-pass filter: it keeps the slow envelope of the rectified EMG (the muscle's
# activation) and removes the fast oscillations; the gain of an N-sample average is
# |H(f)| = |sin(π f N / fs) / (N · sin(π f / fs))|, which is exactly zero at every multiple of
# fs / N = 10 Hz. The derivative is a high-pass filter whose gain is |H(f)| = 2·|sin(π f / fs)|:
# almost nothing at low frequencies, close to 2 near the Nyquist frequency (500 Hz).

# %%
freqs = np.array([2.0, 25.0, 105.0, 405.0])
_, h_ma = signal.freqz(moving_average, worN=freqs, fs=fs)
_, h_d = signal.freqz(derivative, worN=freqs, fs=fs)
N = len(moving_average)
ma_formula = np.abs(np.sin(np.pi * freqs * N / fs)
                    / (N * np.sin(np.pi * freqs / fs)))
d_formula = 2 * np.sin(np.pi * freqs / fs)
print("frequency   moving average (formula)   derivative (formula)")
columns = zip(freqs, np.abs(h_ma), ma_formula, np.abs(h_d), d_formula,
              strict=True)
for f, a, a_f, b, b_f in columns:
    print(f"{f:6.0f} Hz   {a:.3f} ({a_f:.3f}){'':15s}"
          f"{b:.3f} ({b_f:.3f})")
assert np.allclose(np.abs(h_ma), ma_formula)
assert np.allclose(np.abs(h_d), d_formula)
assert np.abs(h_ma)[0] > 0.9 and np.abs(h_ma)[3] < 0.05

t = np.arange(len(x)) / fs
fig, axes = plt.subplots(3, 1, figsize=(9, 6), sharex=True)
axes[0].plot(t, x, lw=0.5)
axes[0].set_ylabel("EMG (mV)")
axes[0].set_title("Simulated EMG (hand close) and two convolutions")
axes[1].plot(t, np.abs(x), lw=0.4, color="0.7", label="|x|")
axes[1].plot(t, envelope[: len(x)], color="C1",
             label="moving average of |x| (100 ms)")
axes[1].set_ylabel("mV")
axes[1].legend(loc="upper right")
axes[2].plot(t, slope[: len(x)], lw=0.5, color="C2")
axes[2].set_ylabel("x[n] − x[n−1]")
axes[2].set_xlabel("time (s)")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Deep-learning libraries do not flip the kernel.** What PyTorch calls a convolution
# (`torch.nn.Conv1d`, `conv2d`) is, strictly, a cross-correlation: y[n] = Σ_k w[k] · x[n + k].
# For a learned kernel this makes no difference (the network learns the flipped weights), but
# to reproduce a designed filter you flip it yourself:

# %%
x_t = torch.tensor(x)[None, None]  # (batch, channels, time)
weights = torch.tensor(derivative[::-1].copy())[None, None]  # flipped
torch_result = F.conv1d(x_t, weights)[0, 0].numpy()
numpy_result = np.convolve(x, derivative, mode="valid")
err_torch = np.max(np.abs(torch_result - numpy_result))
print("torch conv1d, flipped kernel, vs numpy.convolve: "
      f"{err_torch:.1e}")
assert err_torch < 1e-12

# %% [markdown]
# ## 2. A kernel sliding over an image
#
# In two dimensions the kernel is a small patch of weights, and the sum runs over rows and
# columns: y[i, j] = Σ_a Σ_b h[a, b] · x[i − a, j − b]. We make a 32 × 32 "phantom": an
# elliptical organ (brighter than the background) with noise, and a small bright lesion inside
# it. These images stand in for a scan; the generator is declared here so that you can change
# it. The lesion's contrast (0.4) is low against the noise (standard deviation 0.12), so that
# finding it is not trivial.

# %%
SIZE = 32
rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(float)
LESION_CONTRAST, NOISE = 0.4, 0.12


def phantom(rng, lesion, other_scanner=False):
    """One 32 x 32 image: an ellipse of random position, size, angle
    and brightness, an optional Gaussian lesion inside it, white
    noise; other_scanner: a random gain and offset as well."""
    cy, cx = rng.uniform(12, 20, 2)
    a, b = rng.uniform(8, 12), rng.uniform(5, 9)
    angle = rng.uniform(0, np.pi)
    cos, sin = np.cos(angle), np.sin(angle)
    u = ((cols - cx) * cos + (rows - cy) * sin) / a
    v = (-(cols - cx) * sin + (rows - cy) * cos) / b
    inside = 1 / (1 + np.exp(8 * (u**2 + v**2 - 1)))  # soft edges
    image = 0.1 + rng.uniform(0.35, 0.55) * inside
    if lesion:  # in the inner part of the organ, 1 to 1.6 pixels wide
        r = np.sqrt(rng.uniform(0, 0.5))
        phi = rng.uniform(0, 2 * np.pi)
        # along the organ's axes
        du, dv = r * a * np.cos(phi), r * b * np.sin(phi)
        ly = cy + du * sin + dv * cos
        lx = cx + du * cos - dv * sin
        width = rng.uniform(1.0, 1.6)
        distance2 = (rows - ly) ** 2 + (cols - lx) ** 2
        blob = np.exp(-distance2 / (2 * width**2))
        image = image + LESION_CONTRAST * blob
    image = image + rng.normal(0, NOISE, image.shape)
    if other_scanner:
        image = rng.uniform(0.5, 2.0) * image + rng.uniform(-0.2, 0.2)
    return image


def phantoms(n, seed, other_scanner=False):
    """n float32 images (n, 1, 32, 32), half with a lesion (1)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    images = np.stack([phantom(rng, bool(k), other_scanner)
                       for k in labels])
    return images[:, None].astype(np.float32), labels


def convolve2d_by_hand(image, kernel):
    """The "valid" 2-D convolution: the kernel inside the image."""
    kr, kc = kernel.shape
    flipped = kernel[::-1, ::-1]
    out = np.zeros((image.shape[0] - kr + 1, image.shape[1] - kc + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            patch = image[i : i + kr, j : j + kc]
            out[i, j] = np.sum(flipped * patch)
    return out


example = phantom(np.random.default_rng(3), lesion=True)
kernels = {
    "3 × 3 mean (smoothing)": np.full((3, 3), 1 / 9),
    "Sobel (vertical edges)":
        np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]),
    "centre minus surround (spots)":
        np.pad(np.full((3, 3), 1 / 9), 2) - np.full((7, 7), 1 / 49),
}
responses = {}
print("kernel                          output    by hand vs scipy")
for name, kernel in kernels.items():
    responses[name] = convolve2d_by_hand(example, kernel)
    scipy_result = signal.convolve2d(example, kernel, mode="valid")
    err = np.max(np.abs(responses[name] - scipy_result))
    print(f"{name:30s}  {str(responses[name].shape):8s}  {err:.1e}")
    assert err < 1e-12

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
axes[0].imshow(example, cmap="gray")
axes[0].set_title("phantom with a lesion")
for ax, (name, response) in zip(axes[1:], responses.items(),
                                strict=True):
    ax.imshow(response, cmap="gray")
    ax.set_title(name, fontsize=9)
for ax in axes:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# Each output image is smaller than the input by the kernel's size minus one ("valid"
# positions only; libraries can pad the border to keep the size). The smoothing kernel
# lowers the noise, the Sobel kernel answers to edges of one orientation (the organ's outline),
# and the centre-minus-surround kernel answers most to a bright spot of about its centre's size:
# a hand-made lesion detector. A CNN learns kernels like these from labelled examples.
#
# ## 3. A small CNN that finds the lesion
#
# We generate 800 training images and 400 test images, half of each with a lesion. Every image
# is a separate generated "patient", so a random split is honest here; with recordings, several
# images or windows of one patient or one repetition must stay on the same side of the split
# (bmelearn enforces this for EMG, see the next tutorial).
#
# The network:
#
# - a convolution of 8 kernels of 3 × 3 (8 feature maps of 32 × 32, the border padded), batch
#   normalisation, a ReLU, and 2 × 2 max-pooling (keep the largest value of each 2 × 2 block:
#   16 × 16 maps);
# - a convolution of 16 kernels of 3 × 3 × 8 (each looks at all 8 maps below), batch
#   normalisation, a ReLU;
# - the maximum of each of the 16 maps over the whole image ("global max pooling"): "how
#   strongly does this pattern occur anywhere?";
# - a linear layer from those 16 numbers to the 2 classes (the softmax is in the loss).
#
# Batch normalisation rescales each feature map to mean 0 and standard deviation 1 over the
# mini-batch, then applies a learned scale and offset (2 weights per map). It makes training
# much less sensitive to the starting weights; at test time it uses the mean and standard
# deviation it measured during training, so a test image is never normalised with its
# neighbours. Without it, some of the small-data trainings below got stuck at chance.

# %%
class LesionNet(nn.Module):
    def __init__(self, n_classes=2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.norm2 = nn.BatchNorm2d(16)
        self.head = nn.Linear(16, n_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.norm1(self.conv1(x))), 2)
        x = F.relu(self.norm2(self.conv2(x)))
        return self.head(x.amax(dim=(2, 3)))


def train(net, X, y, steps, augment=None, seed=0, lr=3e-3, batch=32):
    """Adam on the cross-entropy for a number of steps (mini-batches),
    shuffling the images at every pass over them."""
    net.train()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    while len(losses) < steps:
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), batch):
            idx = order[start : start + batch]
            xb = X[idx]
            if augment is not None:
                xb = augment(xb, generator)
            loss = F.cross_entropy(net(xb), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    return losses


def accuracy(net, X, y):
    net.eval()  # batch normalisation: the statistics of training
    with torch.no_grad():
        predicted = net(torch.from_numpy(X)).argmax(dim=1).numpy()
    return float((predicted == y).mean())


X_train, y_train = phantoms(800, seed=1)
X_test, y_test = phantoms(400, seed=2)

fig, axes = plt.subplots(2, 6, figsize=(10, 3.6))
for ax, image, label in zip(axes.flat, X_train[:12, 0], y_train[:12],
                            strict=True):
    ax.imshow(image, cmap="gray", vmin=-0.2, vmax=1.1)
    ax.set_title("lesion" if label else "no lesion", fontsize=9)
    ax.axis("off")
fig.suptitle("Generated training images")
fig.tight_layout()
plt.show()

torch.manual_seed(0)
net = LesionNet()
n_weights = sum(p.numel() for p in net.parameters())
losses = train(net, X_train, y_train, steps=250)
acc_train = accuracy(net, X_train, y_train)
acc_test = accuracy(net, X_test, y_test)
print(f"{n_weights} weights, 250 steps of 32 images (10 passes)")
print(f"training accuracy {acc_train:.3f}, "
      f"test accuracy {acc_test:.3f} (chance 0.5)")
# conv1 + norm1, conv2 + norm2, head: weights and biases
assert n_weights == ((8 * 9 + 8 + 2 * 8) + (16 * 8 * 9 + 16 + 2 * 16)
                     + 34)
assert n_weights == 1330
assert acc_test > 0.85

# %%
fig = plt.figure(figsize=(10, 3.2))
grid = fig.add_gridspec(2, 7)
ax = fig.add_subplot(grid[:, :3])
ax.plot(np.convolve(losses, np.full(10, 0.1), mode="valid"))
ax.set_title("training loss (mean of 10 steps)", fontsize=10)
ax.set_xlabel("step")
learned = net.conv1.weight.detach()[:, 0]
for k, kernel in enumerate(learned):
    ax = fig.add_subplot(grid[k // 4, 3 + k % 4])
    ax.imshow(kernel, cmap="RdBu_r")
    ax.axis("off")
fig.text(0.72, 0.97, "the 8 learned 3 × 3 kernels of the first layer",
         ha="center", va="top", fontsize=10)
plt.show()

# %% [markdown]
# The test accuracy is measured on 400 images the network never saw, each an independent
# "patient", so its binomial standard error is √(p · (1 − p) / 400): about ± 0.01 at p = 0.95.
# The learned first-layer kernels are not as tidy as the hand-made ones; nobody told them to be
# smoothing or edge kernels, only to make the loss small.
#
# Now the same network on images from **other scanners**: the same anatomy, but each image
# multiplied by a gain between 0.5 and 2 and shifted by an offset up to ± 0.2, as happens
# with another device, another protocol or another reconstruction. The network learned
# absolute brightness thresholds, and these are wrong now:

# %%
X_scanners, y_scanners = phantoms(400, seed=3, other_scanner=True)
acc_scanners = accuracy(net, X_scanners, y_scanners)
print(f"test accuracy, same scanner: {acc_test:.3f};"
      f" other scanners: {acc_scanners:.3f}")
assert acc_scanners < acc_test - 0.1

# %% [markdown]
# More images from the same scanner would not fix this: the training set simply has no
# example of the variation met later. (With EMG, the same happens when an armband is put back
# rotated: see the robustness section of the next tutorial.)
#
# ## 4. Data augmentation
#
# Augmentation makes new training examples from the ones you have, by changes that leave the
# label as it is: here a rotation by a multiple of 90°, a mirror flip, and a random gain and
# offset of the brightness (the scanner variation we expect). Each mini-batch is changed afresh,
# so the network never sees exactly the same image twice.
#
# We train on only **40 images** (a small study), three times with different random draws of
# those 40, with and without augmentation, and test each network on the same-scanner and the
# other-scanner test sets. Steps are the same in both arms.

# %%
def augment(xb, generator):
    quarter_turns = int(torch.randint(4, (1,), generator=generator))
    xb = torch.rot90(xb, quarter_turns, dims=(2, 3))
    if torch.rand(1, generator=generator) < 0.5:
        xb = xb.flip(3)
    shape = (len(xb), 1, 1, 1)   # one gain and offset per image
    gain = 0.5 + 1.5 * torch.rand(shape, generator=generator)
    offset = 0.4 * torch.rand(shape, generator=generator) - 0.2
    return gain * xb + offset


rows_aug = []
for seed in range(3):
    X_small, y_small = phantoms(40, seed=100 + seed)
    for augmented in (False, True):
        torch.manual_seed(seed)
        small_net = LesionNet()
        train(small_net, X_small, y_small, steps=200, seed=seed,
              batch=20, augment=augment if augmented else None)
        rows_aug.append([accuracy(small_net, X_small, y_small),
                         accuracy(small_net, X_test, y_test),
                         accuracy(small_net, X_scanners, y_scanners)])
# draw x (plain, augmented) x (train, test, other scanners)
result = np.array(rows_aug).reshape(3, 2, 3)
plain = result[:, 0].mean(axis=0)       # train, test, other scanners
augmented = result[:, 1].mean(axis=0)
print("                       accuracy on")
print("draw  augmented  training  test   other scanners")
for seed in range(3):
    for arm, name in enumerate(("no", "yes")):
        a_train, a_test, a_scan = result[seed, arm]
        print(f"{seed:4d}  {name:9s}  {a_train:.3f}     {a_test:.3f}"
              f"  {a_scan:.3f}")
for name, mean in (("no", plain), ("yes", augmented)):
    print(f"mean  {name:9s}  {mean[0]:.3f}     {mean[1]:.3f}"
          f"  {mean[2]:.3f}")
gain = result[:, 1] - result[:, 0]   # draw x (train, test, scanners)
print("gain of augmentation, draws 0, 1, 2, and their mean:")
for column, name in ((1, "same scanner"), (2, "other scanners")):
    draws = "  ".join(f"{g:+.3f}" for g in gain[:, column])
    mean = gain[:, column].mean()
    print(f"  {name:14s}  {draws}   mean {mean:+.3f}")

# other scanners: a gain in every draw, the largest gain on average
assert (gain[:, 2] > 0).all()
assert gain[:, 2].mean() > gain[:, 1].mean() + 0.05
assert augmented[2] > plain[2] + 0.08
# without augmentation, 40 images memorised; a smaller gap with it
assert (result[:, 0, 0] == 1).all()
assert plain[0] - plain[1] > augmented[0] - augmented[1]
# same scanner: a gain on average, the largest where the plain
# network generalised worst, little in the other draws
worst = np.argmin(result[:, 0, 1])
assert worst == 1 and np.argmax(gain[:, 1]) == worst
assert gain[:, 1].mean() > 0.03
assert np.abs(np.delete(gain[:, 1], worst)).max() < 0.1

# %% [markdown]
# What augmentation did here, and what it did not:
#
# - On **other scanners** it helped in every draw, and by the most on average (the gains are
#   printed under the table): the augmented network has seen brightness changes during
#   training, the plain one has not.
# - The gap between training and test accuracy shrinks: without augmentation the network
#   memorises its 40 images (training accuracy 1.0); with augmentation the training task is
#   harder and closer to what the test asks.
# - On the **same scanner** it helped on average, most where the plain network had
#   generalised worst (draw 1, the lowest test accuracy without augmentation), and little
#   in the other two draws. Expect less from rotations and flips when the training images
#   already come at every angle and position, and when the network (global max pooling) does
#   not care where the lesion is. Augmentation brings variation that the training set lacks
#   and that you expect at test time; it cannot invent anatomy that was never imaged.
# - Another way to the same end is to build the invariance into the pipeline: scaling each
#   image to its own mean and standard deviation before the network would remove the gain and
#   offset altogether.
# - With 40 images the result depends on which 40 you drew (look at draw 1). Repeat such a
#   comparison over several draws, or use the intervals of the next tutorial, before believing
#   a difference of a few points.
#
# ## 5. Transfer learning: reuse what another task taught the kernels
#
# The first layers of a CNN learn generic detectors (spots, edges, corners). Transfer learning
# trains them on a task with plenty of data, then **fine-tunes** the network on the task with
# few examples. Our large task: 1500 generated images of one small bright shape (a disc, a
# square or a cross, of random size, position and brightness) on a tilted background, to be
# told apart (3 classes). No organ and no lesion in them.

# %%
def shapes(n, seed):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    rng.shuffle(labels)
    images = []
    for k in labels:
        tilt = rng.uniform(0, 2 * np.pi)
        ramp = (cols * np.cos(tilt) + rows * np.sin(tilt)) / 45
        image = 0.25 + rng.uniform(0, 0.3) * ramp
        cy, cx = rng.uniform(5, 27, 2)
        r = rng.uniform(1.5, 4)
        dx, dy = np.abs(cols - cx), np.abs(rows - cy)
        if k == 0:  # disc
            mask = dx**2 + dy**2 <= r**2
        elif k == 1:  # square
            mask = (dx <= 0.85 * r) & (dy <= 0.85 * r)
        else:  # cross
            mask = (((dx <= r) & (dy <= 0.6))
                    | ((dy <= r) & (dx <= 0.6)))
        brightness = rng.uniform(0.3, 0.6)
        noise = rng.normal(0, NOISE, image.shape)
        images.append(image + brightness * mask + noise)
    return np.stack(images)[:, None].astype(np.float32), labels


X_shapes, y_shapes = shapes(1500, seed=7)
X_shapes_test, y_shapes_test = shapes(300, seed=8)
torch.manual_seed(0)
pretrained = LesionNet(n_classes=3)
train(pretrained, X_shapes, y_shapes, steps=250)
acc_shapes = accuracy(pretrained, X_shapes_test, y_shapes_test)
print(f"pretraining (disc, square, cross): test accuracy"
      f" {acc_shapes:.3f} (chance 0.333)")
assert acc_shapes > 0.5

# %% [markdown]
# Now the lesion task with only **20 images**. Two networks start from the same random head:
# one with random convolutional layers (from scratch), one with the convolutional layers copied
# from the shape network (fine-tuned: every weight keeps learning, from that start). Same 20
# images, same steps, three draws of the 20 images.

# %%
rows_transfer = []
for seed in range(3):
    X_few, y_few = phantoms(20, seed=200 + seed)
    scores = []
    for start in ("scratch", "pretrained"):
        torch.manual_seed(seed)
        few_net = LesionNet()
        if start == "pretrained":
            # copy everything but the head
            for layer in ("conv1", "norm1", "conv2", "norm2"):
                weights = getattr(pretrained, layer).state_dict()
                getattr(few_net, layer).load_state_dict(weights)
        train(few_net, X_few, y_few, steps=120, seed=seed)
        scores.append(accuracy(few_net, X_test, y_test))
    rows_transfer.append(scores)
    print(f"draw {seed}: from scratch {scores[0]:.3f},"
          f" fine-tuned from the shape network {scores[1]:.3f}")
rows_transfer = np.array(rows_transfer)
scratch_mean, transfer_mean = rows_transfer.mean(axis=0)
print(f"mean:   from scratch {scratch_mean:.3f},"
      f" fine-tuned from the shape network {transfer_mean:.3f}")
scratch_spread, transfer_spread = np.ptp(rows_transfer, axis=0)
print(f"spread (best − worst draw): from scratch"
      f" {scratch_spread:.3f}, fine-tuned {transfer_spread:.3f}")
assert transfer_mean > scratch_mean + 0.03
assert transfer_spread < scratch_spread - 0.05   # varies less

# %% [markdown]
# Here the pretrained start is better on average and varies less from draw to draw: the shape
# task taught the kernels to respond to small bright blobs on a smooth background, which is
# most of what the lesion task needs, so 20 images are enough to learn the rest. Transfer helps
# when the tasks share their low-level patterns and the target data are few. It helps less, or
# not at all, when the source task looks different (a network pretrained on photographs of
# cats, for a noisy ultrasound) or when the target task already has plenty of data. bmelearn
# measures this for EMG across people (`evaluation: {transfer: [1, 2, 4]}`): with only three
# other participants of the 3DC data to learn from, fine-tuning is within about a point of
# training from scratch (see the user guide's models page).
#
# ## 6. A 1-D CNN on raw EMG windows, through bmelearn
#
# For EMG, the classical route computes features of each window (e.g. Hudgins' MAV, ZC, SSC
# and WL per channel, the "HTD" set) and gives them to a linear discriminant (LDA). A 1-D CNN
# takes the raw window instead: an array of channels × samples (8 × 200 for 200 ms at
# 1 kHz). Each kernel of its first layer spans all 8 channels and 5 samples, so it is a
# multichannel FIR filter whose weights are learned; bmelearn's `cnn` stacks `blocks` of
# convolution, batch normalisation, ReLU and max pooling, then averages each feature map over
# time and ends with a linear layer (`bmelearn list models` lists its parameters).
#
# The data are **simulated** (bmelearn's simulator: 1 participant, 7 gestures, 2 sessions of 3
# repetitions, 8 channels), already loaded above. The protocol is cross-session: train on the
# first session, test on the second, as a device used on another day. `evaluate` checks that no
# repetition is on both sides and gives each accuracy a 95 % interval over the test trials.

# %%
windows = cut_windows(recordings, length=0.2, step=0.1)
print(f"windows: {windows.X.shape} (windows, channels, samples)")
print(textwrap.fill("classes: " + ", ".join(windows.classes), 70))
protocol = {"cross_session": CrossSession(train=["session1"],
                                          test=["session2"])}

extractor = FeatureExtractor(["HTD"], fs=fs,
                             ch_names=windows.ch_names["emg"])
htd = extractor.fit_transform(windows.X)  # 4 features x 8 channels
lda = evaluate(htd, windows.meta, {"lda on HTD": make_model("lda")},
               protocol, windows.classes, dataset="simulator")
cnns = {
    f"cnn, seed {seed}": make_model("cnn", random_state=seed,
                                    hidden=[16, 32], blocks=2,
                                    max_epochs=10, validation=0.0)
    for seed in range(3)
}
cnn = evaluate(windows.X, windows.meta, cnns, protocol,
               windows.classes, dataset="simulator")

both = pd.concat([lda.results, cnn.results])
scores = both[both["metric"] == "accuracy"].set_index("pipeline")
print("SIMULATED EMG, cross-session accuracy")
print("with its 95 % interval over the test trials:")
print(scores[["value", "ci_low", "ci_high"]].round(3).to_string())
cnn_accuracy = scores.loc[list(cnns), "value"]
lda_accuracy = scores.loc["lda on HTD", "value"]
print(f"CNN, three seeds: mean {cnn_accuracy.mean():.3f}, from"
      f" {cnn_accuracy.min():.3f} to {cnn_accuracy.max():.3f};"
      f" LDA {lda_accuracy:.3f}")
assert (cnn_accuracy > 0.5).all()  # chance: 1/7 = 0.14
# the seed alone moves the CNN's accuracy by several points
assert cnn_accuracy.max() - cnn_accuracy.min() > 0.03
# above LDA on average, the worst seed within 3 points of LDA
assert cnn_accuracy.mean() > lda_accuracy + 0.02
assert abs(cnn_accuracy.min() - lda_accuracy) < 0.03

# %% [markdown]
# On this simulated participant the CNN scores above LDA on HTD on average over the three
# seeds, but its accuracy moves by several points with nothing but its random seed (the
# initial weights and the order of the mini-batches), and the worst of the three networks is
# within a few points of LDA. With one participant and three training repetitions, one
# network is one draw: to say that the CNN is better here would take more seeds and more
# participants.
#
# On real recordings with more data the CNN can pull ahead: on the 3DC armband data
# (`examples/3dc-deep.yaml`: four participants, 30 epochs, augmentation) it reaches 90.1 %
# against 87.0 % for LDA on the LS9 features, at a training cost of about 37 s per
# participant against 0.03 s (MiniRocket, the third model of that run, reaches 86.8 %).
# These are the lines of that experiment file that define the features and the models:
#
# ```yaml
# features: [LS9]
# models:
#   - lda
#   - name: cnn
#     hidden: [32, 64, 64]
#     blocks: 3
#     max_epochs: 30
#     validation: 0
#     augment: {scale: 0.2, noise: 0.05, time_shift: 0.2}
#   - minirocket
# ```
#
# `validation: 0` trains on all four training repetitions for the 30 epochs, with no
# windows held out to stop early. `augment` is the EMG version of section 4, drawn afresh
# for each training window: `scale: 0.2` multiplies the whole window by a random factor
# between 0.8 and 1.2, `noise: 0.05` adds white noise of 0.05 standard deviations (each
# channel is standardised before training), and `time_shift: 0.2` moves the window
# circularly in time by up to a fifth of its length (40 ms of 200). bmelearn also offers
# `shift` (the armband rotated by up to that many electrodes) and `dropout` (channels set to
# zero); the run that measured 90.1 % used neither.

# %%
elapsed = time.perf_counter() - started
print(f"this tutorial ran in {elapsed:.1f} s (after the imports)")

# %% [markdown]
# ## What to read next
#
# - [From raw EMG to a trustworthy classifier](../06_emg_classifier/): the whole bmelearn run on
#   the 3DC data (or the simulator), with intervals, robustness to electrode shift and the report.
# - [Models](../../guide/models/): the networks (`cnn`, `tcn`, `lstm`, `transformer`), their
#   augmentation and the transfer-learning curve across participants.
# - [Features](../../guide/features/): the hand-made features that the CNN competes with.
# - [Evaluation and statistics](../../guide/evaluation/): protocols, the leakage guard and intervals.
# - [Adapting to a new day or person](../../guide/adaptation/): what a few calibration
#   repetitions win back.
