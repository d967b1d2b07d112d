"""Write the example notebooks' sources (cells without outputs) from this one reviewable file.

    python examples/_build_notebooks.py            # rewrite both notebooks, outputs cleared
    python examples/_build_notebooks.py --execute  # ... then run them in place (full size)
    python examples/_build_notebooks.py --execute gpt_training.ipynb   # just one
    python examples/_build_notebooks.py --markdown  # only update the text, keep the outputs

Edit the cells here, not in the .ipynb files, then re-execute so the committed notebooks carry
the outputs of a real run:

    JC_EXAMPLE_SIZE=full python examples/_build_notebooks.py --execute

``--execute`` runs each notebook with nbclient in ``examples/`` (``JPY_SESSION_NAME`` set to the
notebook, so the extension logs beside it) and deletes the ``*.carbon*.csv`` files it leaves.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def _cells(prefix: str, specs: list[tuple[str, str]]):
    cells = []
    for i, (kind, src) in enumerate(specs, 1):
        src = src.strip("\n")
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        cell["id"] = f"{prefix}-{i:02d}"
        cells.append(cell)
    return cells


def _notebook(prefix: str, specs) -> nbformat.NotebookNode:
    nb = new_notebook(cells=_cells(prefix, specs))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# ---------------------------------------------------------------------------------------------
# Random forest on California housing
# ---------------------------------------------------------------------------------------------
RANDOM_FOREST = [
    ("md", r"""
# Random forest on California housing, measured cell by cell

This notebook fits a `RandomForestRegressor` (100 trees, all cores) to the California housing
data set and lets **jupyter-carbon** measure what every cell costs in energy and CO₂e:

* `%load_ext jupyter_carbon` (first cell) measures *every* cell from then on and appends one row
  per cell to `random_forest.carbon.csv` beside this notebook;
* `%%carbon --label fit` gives the training cell a live view and a detailed summary;
* `%carbon report` at the end shows the costliest cells, and the last cell plots CO₂e per cell
  straight from the CSV with pandas (`jupyter_carbon.read_log`).

**Data.** The real data set is downloaded by scikit-learn on first use (about 400 KB, then
cached). Without a network connection the notebook falls back, *and says so in one line*, to a
synthetic stand-in of the same shape (20640 × 8, same feature names, target in the same units
of $100,000) generated from a known nonlinear function of the features plus noise, so that R²
still means something.

**Size.** The environment variable `JC_EXAMPLE_SIZE` picks the size: `full` (default: 100
trees, about 10-30 s on a laptop) or `small` (60 trees, used by the test suite and CI).

```
pip install torch==2.13.0   # only needed for the GPT notebook; pin it, see docs/examples.md
pip install -e '.[examples]'
JC_EXAMPLE_SIZE=small jupyter nbconvert --to notebook --execute random_forest.ipynb
```
"""),
    ("code", r"""
%load_ext jupyter_carbon
%config InlineBackend.figure_format = 'png'

import os
import socket
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

import jupyter_carbon as jc

SIZE = os.environ.get("JC_EXAMPLE_SIZE", "full")
assert SIZE in ("small", "full"), f"JC_EXAMPLE_SIZE must be small or full, not {SIZE!r}"
N_TREES = {"full": 100, "small": 60}[SIZE]
SEED = 0
np.random.seed(SEED)
print(f"size: {SIZE} ({N_TREES} trees)")
"""),
    ("md", r"""
## The data

`fetch_california_housing` downloads the 1990 US census block groups of California: eight
features per block (median income, house age, rooms, bedrooms, population, occupancy, latitude,
longitude) and the median house value in units of $100,000. The download gets a short socket
timeout; any failure switches to the offline fallback below.

The fallback places blocks around California's real population centres, computes each block's
distance to a polyline tracing the coast, and draws incomes, ages and household sizes from
skewed distributions tied to how urban the place is. The value is then a nonlinear function
(income, coastal premium decaying with distance, urban age premium, crowding penalty) times
log-normal noise, clipped at 5.00001 like the census top code. It is *not* the real data: only
its shape, names, units and kind of structure match.
"""),
    ("code", r"""
FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup",
            "Latitude", "Longitude"]


def synthetic_california(n=20640, seed=SEED):
    # A stand-in with the real data's shape, column names and units: see the text above.
    rng = np.random.default_rng(seed)
    # population centres: lat, lon, sd lat, sd lon, share of blocks, urban 0..1, coastal premium 0..1
    centres = np.array([
        (34.05, -118.25, 0.22, 0.35, 0.30, 1.0, 0.6),  # Los Angeles basin
        (37.60, -122.15, 0.30, 0.20, 0.17, 1.0, 1.0),  # San Francisco Bay Area
        (32.80, -117.10, 0.12, 0.12, 0.08, 0.9, 0.6),  # San Diego
        (34.00, -117.30, 0.18, 0.30, 0.09, 0.6, 0.1),  # Inland Empire
        (38.60, -121.40, 0.20, 0.20, 0.07, 0.7, 0.1),  # Sacramento
        (36.40, -119.60, 0.70, 0.45, 0.13, 0.3, 0.0),  # Central Valley
        (39.50, -122.00, 1.10, 0.90, 0.10, 0.0, 0.0),  # rural north
        (36.60, -121.80, 0.35, 0.25, 0.06, 0.4, 0.5),  # Central Coast
    ])
    c = centres[rng.choice(len(centres), size=n, p=centres[:, 4] / centres[:, 4].sum())]
    lat = np.clip(c[:, 0] + rng.normal(0, 1, n) * c[:, 2], 32.54, 41.95)
    lon = np.clip(c[:, 1] + rng.normal(0, 1, n) * c[:, 3], -124.35, -114.31)
    urban, premium = c[:, 5], c[:, 6]
    # distance to the coast in km: to a polyline tracing the shoreline from San Diego to Oregon
    shore = np.array([(32.53, -117.12), (33.20, -117.40), (33.75, -118.40), (34.40, -119.70),
                      (34.45, -120.50), (35.60, -121.20), (36.60, -121.90), (37.50, -122.50),
                      (38.30, -123.05), (39.80, -123.85), (40.45, -124.40), (41.95, -124.20)])
    km_lon = 111.0 * np.cos(np.radians(37.0))
    px, py = lon * km_lon, lat * 111.0
    sx, sy = shore[:, 1] * km_lon, shore[:, 0] * 111.0
    coast_km = np.full(n, np.inf)
    for ax, ay, bx, by in zip(sx[:-1], sy[:-1], sx[1:], sy[1:]):
        t = np.clip(((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2), 0, 1)
        coast_km = np.minimum(coast_km, np.hypot(px - ax - t * (bx - ax), py - ay - t * (by - ay)))
    med_inc = np.clip(np.exp(rng.normal(0.98 + 0.25 * urban + 0.3 * premium, 0.42, n)), 0.4999, 15.0001)
    age = np.clip(np.round(rng.normal(22 + 12 * urban, 12, n)), 1, 52)
    rooms = np.clip(2.9 + 0.4 * med_inc + 0.8 * (1 - urban) + rng.gamma(2.0, 0.35, n), 0.85, 140)
    bedrms = np.clip(rooms * (0.20 + rng.normal(0, 0.02, n)) - 0.02 * med_inc, 0.33, 35)
    occup = np.clip(np.exp(rng.normal(np.log(2.9) + 0.1 * urban - 0.03 * med_inc, 0.25, n)), 0.69, 1243)
    population = np.clip(np.round(np.exp(rng.normal(np.log(1150), 0.65, n))), 3, 35682)
    value = (0.42 * med_inc
             + 1.6 * np.exp(-coast_km / 25.0) * (0.5 + premium)
             + 0.6 * urban * np.exp(-coast_km / 80.0)
             + 0.012 * age * urban
             - 0.35 * np.log(occup)
             + 0.045 * np.clip(rooms - bedrms - 4.0, -2, 4))
    value = np.clip(0.8 * value * np.exp(rng.normal(0, 0.22, n)) + 0.1, 0.14999, 5.00001)
    X = np.column_stack([med_inc, age, rooms, bedrms, population, occup, lat, lon])
    return pd.DataFrame(X, columns=FEATURES), pd.Series(value, name="MedHouseVal")


def load_housing(timeout_s=15.0):
    from sklearn.datasets import fetch_california_housing

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)  # a blocked network fails fast instead of hanging
    try:
        with warnings.catch_warnings():  # scikit-learn warns before its one retry
            warnings.simplefilter("ignore")
            X, y = fetch_california_housing(return_X_y=True, as_frame=True, n_retries=1, delay=0.5)
        return X, y, "real"
    except Exception as exc:  # no network, proxy, firewall, corrupt cache: fall back
        reason = f"{type(exc).__name__}: {str(exc)[:80]}"
        return (*synthetic_california(), reason)
    finally:
        socket.setdefaulttimeout(old)


X, y, source = load_housing()
REAL_DATA = source == "real"
if REAL_DATA:
    print(f"DATA: real California housing (scikit-learn), {X.shape[0]} x {X.shape[1]}")
else:
    print(f"DATA: OFFLINE FALLBACK, synthetic stand-in for California housing, {X.shape[0]} x {X.shape[1]}, "
          f"same columns and units; NOT the real data (download failed: {source})")
X.describe().T[["mean", "min", "50%", "max"]].round(2)
"""),
    ("code", r"""
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)
print(f"train {X_train.shape}, test {X_test.shape}; target {y.name} in units of $100,000, "
      f"mean {y.mean():.2f}")
"""),
    ("md", r"""
## Fitting the forest, measured

`%%carbon --label fit` shows a live line (watts now, energy so far) while the cell runs and a
summary when it ends: each component's power, energy and *method* (a hardware counter such as
RAPL is marked measured; the CPU TDP × utilisation model and the RAM model are marked
estimated), the total in kWh, the CO₂e and the carbon intensity used, with where it came from.
The label `fit` goes into the CSV row.
"""),
    ("code", r"""
%%carbon --label fit
model = RandomForestRegressor(n_estimators=N_TREES, n_jobs=-1, random_state=SEED)
model.fit(X_train, y_train)
print(f"fitted {len(model.estimators_)} trees on {len(X_train)} blocks, {os.cpu_count()} CPUs")
"""),
    ("code", r"""
pred = model.predict(X_test)
r2 = r2_score(y_test, pred)
rho = spearmanr(y_test, pred).statistic
print(f"RESULT: R2 = {r2:.3f}, Spearman rho = {rho:.3f} on {len(y_test)} test blocks "
      f"({'real' if REAL_DATA else 'synthetic fallback'} data)")
"""),
    ("code", r"""
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(y_test, pred, s=3, alpha=0.3, color="#2b6cb0")
ax.plot([0, 5], [0, 5], color="black", lw=1, ls="--", label="perfect prediction")
ax.set_xlabel("true median value ($100,000)")
ax.set_ylabel("predicted ($100,000)")
ax.set_title(f"Random forest on the test set: R² {r2:.2f}")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()
"""),
    ("md", r"""
## What did it cost?

`%carbon report` reads this notebook's CSV and lists the costliest cells, labels included.
"""),
    ("code", r"""
%carbon report
"""),
    ("md", r"""
The CSV is an ordinary file with CodeCarbon's column names and units (`emissions` in kg,
`energy_consumed` and the per-component energies in kWh, `duration` in seconds), so anything
that reads CSV can use it. `jc.read_log` returns a typed pandas DataFrame. This cell's own row
is written when it ends, so it is not in the plot yet.
"""),
    ("code", r"""
csv_path = jc.log_path()  # <notebook>.carbon.csv beside this notebook
log = jc.read_log(csv_path)
log = log[log["session_id"] == log["session_id"].iloc[-1]]  # this kernel's run only
names = [f"[{n}] {lab}" if isinstance(lab, str) and lab else f"[{n}]"
         for n, lab in zip(log["execution_count"], log["label"])]
fig, ax = plt.subplots(figsize=(6, 2.8))
ax.bar(names, log["emissions"] * 1000, color="#3b8f5a")
ax.set_ylabel("g CO₂e")
ax.set_title(f"CO₂e per cell, from {os.path.basename(csv_path)}")
ax.tick_params(axis="x", labelrotation=45)
fig.tight_layout()
plt.show()
fit = log[log["label"] == "fit"].iloc[-1]
print(f"fit: {fit['duration']:.1f} s, {fit['energy_consumed'] * 1000:.3f} Wh, "
      f"{fit['emissions'] * 1000:.3f} g CO₂e ({fit['energy_consumed'] / log['energy_consumed'].sum():.0%} "
      f"of the energy of the {len(log)} cells logged so far)")
"""),
]


# ---------------------------------------------------------------------------------------------
# A small character-level GPT
# ---------------------------------------------------------------------------------------------
GPT = [
    ("md", r"""
# A small GPT, trained from scratch, measured

This notebook writes out a small character-level GPT (a decoder-only transformer) in plain
PyTorch, trains it, and lets **jupyter-carbon** measure what training costs:

* `%load_ext jupyter_carbon` (first cell) measures every cell and logs one row per cell to
  `gpt_training.carbon.csv` beside the notebook;
* `%%carbon --label train` gives the training cell a live view and a summary;
* we turn the measured energy into **energy per 1,000 tokens**, compare two model sizes under
  their own labels, and finish with `%carbon report`.

The model code follows the usual GPT-2 layout: token and position embeddings, a stack of blocks
(layer norm → multi-head causal self-attention → residual, layer norm → MLP → residual), a final
layer norm and a linear head over the vocabulary.

**Sizes** (`JC_EXAMPLE_SIZE`, read in the first cell):

| size | model | context × batch | steps | time |
| --- | --- | --- | --- | --- |
| `full` (default) | 4 layers, 4 heads, width 128 (0.8 M parameters) | 96 × 32 | 1000 | a few minutes on a laptop CPU; seconds on a GPU |
| `small` (tests, CI) | 2 layers, 4 heads, width 64 (0.1 M parameters) | 64 × 16 | 500 | under a minute on 2 CPU cores |

It runs on CUDA when PyTorch sees a GPU, else on the CPU. Install `torch==2.13.0` first (a bare
`pip install torch` pulls gigabytes of CUDA packages), then `pip install -e '.[examples]'`.
"""),
    ("code", r"""
%load_ext jupyter_carbon
%config InlineBackend.figure_format = 'png'

import math
import os
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

import jupyter_carbon as jc

SIZE = os.environ.get("JC_EXAMPLE_SIZE", "full")
CONFIGS = {
    "full": dict(n_layer=4, n_head=4, n_embd=128, block_size=96, batch_size=32, steps=1000,
                 lr=2e-3, eval_every=100, eval_iters=20, corpus_chars=600_000),
    "small": dict(n_layer=2, n_head=4, n_embd=64, block_size=64, batch_size=16, steps=500,
                  lr=3e-3, eval_every=100, eval_iters=10, corpus_chars=200_000),
}
assert SIZE in CONFIGS, f"JC_EXAMPLE_SIZE must be one of {list(CONFIGS)}, not {SIZE!r}"
cfg = CONFIGS[SIZE]
DROPOUT = 0.1
SEED = 1337
torch.manual_seed(SEED)
device = "cuda" if torch.cuda.is_available() else "cpu"
if device == "cuda":
    torch.cuda.manual_seed_all(SEED)
print(f"size: {SIZE}; device: {device}"
      + (f" ({torch.cuda.get_device_name(0)})" if device == "cuda" else f" ({torch.get_num_threads()} threads)"))
"""),
    ("md", r"""
## The text

The training text has to be on every machine, offline, and free to use. The Python installation
itself carries a good one: the **docstrings of the standard library**, a few megabytes of
careful English prose about programming. We read the top-level modules' source files with
`ast` (nothing is imported or executed, and it works under `python -OO`, which strips
docstrings from loaded modules), keep ASCII docstrings of at least 80 characters, and start
with *The Zen of Python* (`this.s`, stored ROT13-encoded in the `this` module). The exact text
depends on the Python version, so losses differ slightly between versions. The docstrings are
part of CPython, distributed under the PSF licence; nothing is copied into this repository.
"""),
    ("code", r"""
import ast
import codecs
import contextlib
import io
import sysconfig
from pathlib import Path


def stdlib_docstrings(max_chars):
    with contextlib.redirect_stdout(io.StringIO()):  # importing `this` prints the Zen
        import this
    parts, total = [codecs.decode(this.s, "rot13")], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= 80 and doc.isascii():
                    parts.append(doc.strip())
                    total += len(doc)
        if total >= max_chars:
            break
    return "\n\n".join(parts)[:max_chars]


text = stdlib_docstrings(cfg["corpus_chars"])
chars = sorted(set(text))
vocab_size = len(chars)
print(f"{len(text):,} characters, vocabulary of {vocab_size}")
print(text[1200:1600])
"""),
    ("md", r"""
Characters become integers and back. The first 90% of the text is for training, the last 10%
for validation. A batch is `batch_size` random windows of `block_size` characters; the target
of every position is the next character.
"""),
    ("code", r"""
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}


def encode(s):
    return [stoi[c] for c in s]


def decode(ids):
    return "".join(itos[i] for i in ids)


data = torch.tensor(encode(text), dtype=torch.long)
n_train = int(0.9 * len(data))
train_data, val_data = data[:n_train], data[n_train:]


def get_batch(split, block_size, batch_size):
    src = train_data if split == "train" else val_data
    ix = torch.randint(len(src) - block_size - 1, (batch_size,))
    x = torch.stack([src[i:i + block_size] for i in ix])
    y = torch.stack([src[i + 1:i + 1 + block_size] for i in ix])
    return x.to(device), y.to(device)


x, y = get_batch("train", 16, 1)
print(repr(decode(x[0].tolist())), "->", repr(decode(y[0].tolist())))
"""),
    ("md", r"""
## Causal self-attention, written out

Each position emits a query, a key and a value (one linear layer makes all three). Split into
`n_head` heads of size `d = n_embd / n_head`, every head scores every pair of positions with
`q @ kᵀ / √d` (the scaling keeps the softmax from saturating as `d` grows). The model must not
see the future, so the scores above the diagonal (key after query) are set to −∞ with an
upper-triangular mask, `torch.triu(..., diagonal=1)`; after `softmax(dim=-1)` those weights are
exactly 0. Dropout on the attention weights regularises; the weighted sum `att @ v` mixes the
values, and the heads are concatenated and projected back to `n_embd`.
"""),
    ("code", r"""
class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        assert n_embd % n_head == 0
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)  # queries, keys and values in one matmul
        self.proj = nn.Linear(n_embd, n_embd)
        self.attn_dropout = nn.Dropout(dropout)
        self.resid_dropout = nn.Dropout(dropout)
        # True above the diagonal: position t may not attend to positions after t
        mask = torch.triu(torch.ones(block_size, block_size, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask)

    def forward(self, x):
        B, T, C = x.shape  # batch, time (positions), channels (n_embd)
        d = C // self.n_head
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, d).transpose(1, 2)  # (B, n_head, T, d)
        k = k.view(B, T, self.n_head, d).transpose(1, 2)
        v = v.view(B, T, self.n_head, d).transpose(1, 2)
        att = q @ k.transpose(-2, -1) / math.sqrt(d)  # (B, n_head, T, T) scores
        att = att.masked_fill(self.mask[:T, :T], float("-inf"))  # no peeking ahead
        att = F.softmax(att, dim=-1)  # each row: weights over the past, summing to 1
        att = self.attn_dropout(att)
        y = att @ v  # (B, n_head, T, d): weighted sum of values
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # concatenate the heads
        return self.resid_dropout(self.proj(y))
"""),
    ("md", r"""
## MLP, layer norms, residuals: the block

After attention lets positions exchange information, a two-layer MLP (width `4 × n_embd`, GELU)
processes each position on its own. Both sub-layers read a layer-normalised input ("pre-norm",
as in GPT-2) and *add* their output to the residual stream `x`, which keeps gradients flowing
through deep stacks.
"""),
    ("code", r"""
class MLP(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.GELU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, dropout)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = MLP(n_embd, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))  # residual around attention
        x = x + self.mlp(self.ln2(x))  # residual around the MLP
        return x
"""),
    ("md", r"""
## The model

Token embeddings say *which* character, position embeddings say *where*; their sum enters the
stack of blocks. A last layer norm and a linear head give logits over the vocabulary at every
position, and the loss is the cross-entropy against the next character. At initialisation the
loss should be close to `ln(vocab_size)`: a uniform guess. `generate` samples one character at a
time, feeding the model its own output (cropped to the last `block_size` characters).
"""),
    ("code", r"""
class GPT(nn.Module):
    def __init__(self, vocab_size, n_layer, n_head, n_embd, block_size, dropout=DROPOUT):
        super().__init__()
        self.block_size = block_size
        self.tok_emb = nn.Embedding(vocab_size, n_embd)
        self.pos_emb = nn.Embedding(block_size, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))  # (B, T, n_embd)
        x = self.ln_f(self.blocks(x))
        logits = self.head(x)  # (B, T, vocab_size)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(B * T, -1), targets.view(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=0.8):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, num_samples=1)], dim=1)
        return idx


def make_model(c):
    return GPT(vocab_size, c["n_layer"], c["n_head"], c["n_embd"], c["block_size"]).to(device)


model = make_model(cfg)
n_params = sum(p.numel() for p in model.parameters())
xb, yb = get_batch("train", cfg["block_size"], cfg["batch_size"])
print(f"{n_params:,} parameters; loss at init {model(xb, yb)[1].item():.3f} "
      f"(uniform guess: ln({vocab_size}) = {math.log(vocab_size):.3f})")
"""),
    ("md", r"""
## Training

AdamW with a short linear warm-up and a cosine decay of the learning rate. Every `eval_every`
steps we estimate the train and validation loss on a few fresh batches (dropout off). The
function returns the loss history so we can plot it, and the number of tokens it trained on:
`steps × batch_size × block_size`.
"""),
    ("code", r"""
@torch.no_grad()
def estimate_loss(model, c):
    model.eval()
    out = {}
    for split in ("train", "val"):
        losses = [model(*get_batch(split, c["block_size"], c["batch_size"]))[1].item()
                  for _ in range(c["eval_iters"])]
        out[split] = sum(losses) / len(losses)
    model.train()
    return out


def train(model, c, log_every=None):
    steps, warmup = c["steps"], max(1, c["steps"] // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    history, t0 = [], time.perf_counter()
    for step in range(steps + 1):
        if step % c["eval_every"] == 0 or step == steps:
            losses = estimate_loss(model, c)
            history.append((step, losses["train"], losses["val"]))
            if log_every and step % log_every == 0 or step == steps:
                print(f"step {step:5d} | train {losses['train']:.3f} | val {losses['val']:.3f} "
                      f"| {time.perf_counter() - t0:6.1f} s", flush=True)
        if step == steps:
            break
        xb, yb = get_batch("train", c["block_size"], c["batch_size"])
        _, loss = model(xb, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
    if device == "cuda":
        torch.cuda.synchronize()
    tokens = steps * c["batch_size"] * c["block_size"]
    return history, tokens
"""),
    ("code", r"""
%%carbon --label train
history, tokens = train(model, cfg, log_every=cfg["eval_every"])
print(f"trained on {tokens:,} tokens")
"""),
    ("code", r"""
steps_, train_loss, val_loss = zip(*history)
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(steps_, train_loss, marker="o", ms=3, label="train")
ax.plot(steps_, val_loss, marker="o", ms=3, label="validation")
ax.axhline(math.log(vocab_size), color="grey", ls=":", lw=1, label="uniform guess")
ax.set_xlabel("step")
ax.set_ylabel("cross-entropy (nats/char)")
ax.set_title(f"GPT ({n_params / 1e6:.2f} M params), {SIZE} size")
ax.legend()
fig.tight_layout()
plt.show()
"""),
    ("md", r"""
## A sample

Prompted with a newline, the model writes on at temperature 0.8. After a few minutes on a CPU
expect docstring-shaped text: real words, Python names, punctuation and layout, not yet sense.
"""),
    ("code", r"""
torch.manual_seed(SEED)
model.eval()
start = torch.tensor([encode("\n")], dtype=torch.long, device=device)
print(decode(model.generate(start, max_new_tokens=400)[0].tolist()))
"""),
    ("md", r"""
## Energy per 1,000 tokens

The training cell's row in the CSV holds its energy (`energy_consumed`, kWh, all components,
times the PUE) and emissions (`emissions`, kg). Dividing by the tokens trained on gives a figure
that can be compared across model sizes and machines. It includes the periodic evaluation,
which is part of what the cell cost.
"""),
    ("code", r"""
csv_path = jc.log_path()  # <notebook>.carbon.csv beside this notebook


def cell_row(label):
    log = jc.read_log(csv_path)
    return log[log["label"] == label].iloc[-1]


row = cell_row("train")
wh_per_1k = row["energy_consumed"] * 1000 / (tokens / 1000)
mg_per_1k = row["emissions"] * 1e6 / (tokens / 1000)
print(f"train: {row['duration']:.1f} s, {row['energy_consumed'] * 1000:.3f} Wh, "
      f"{row['emissions'] * 1000:.3f} g CO₂e for {tokens:,} tokens")
parts = ", ".join(f"{c} {row[c + '_energy'] * 1000:.3f} Wh ({row[c + '_method']})"
                  for c in ("cpu", "gpu", "ram") if pd.notna(row[c + "_energy"]))
print(f"ENERGY: {wh_per_1k * 1000:.3f} mWh and {mg_per_1k:.3f} mg CO₂e per 1,000 tokens; {parts}")
"""),
    ("md", r"""
## Two model sizes side by side

The same number of tokens through a model a quarter of the width and half the depth, under its
own label. The comparison table reads both rows back from the CSV.
"""),
    ("code", r"""
tiny_cfg = dict(cfg, n_layer=max(1, cfg["n_layer"] // 2), n_embd=cfg["n_embd"] // 4,
                n_head=max(1, cfg["n_head"] // 2))
torch.manual_seed(SEED)
tiny = make_model(tiny_cfg)
"""),
    ("code", r"""
%%carbon --label train-tiny
tiny_history, tiny_tokens = train(tiny, tiny_cfg)
print(f"trained on {tiny_tokens:,} tokens; final val loss {tiny_history[-1][2]:.3f}")
"""),
    ("code", r"""
rows = []
for label, m, hist, n_tok in (("train", model, history, tokens), ("train-tiny", tiny, tiny_history, tiny_tokens)):
    r = cell_row(label)
    rows.append({"label": label, "parameters": sum(p.numel() for p in m.parameters()),
                 "tokens": n_tok, "seconds": round(r["duration"], 1),
                 "Wh": r["energy_consumed"] * 1000,
                 "mWh / 1k tokens": r["energy_consumed"] * 1e6 / (n_tok / 1000),
                 "mg CO₂e / 1k tokens": r["emissions"] * 1e6 / (n_tok / 1000),
                 "final val loss": round(hist[-1][2], 3)})
pd.DataFrame(rows).set_index("label").round(4)
"""),
    ("md", r"""
Read the table as a whole. The small model is much cheaper per token, but not in proportion
to its parameter count: per-step costs that do not shrink with the model (Python, launching
small kernels, building batches) take a larger share, and the idle share of the machine
(the RAM model, the CPU's floor) is paid per second whatever runs. It also learns much less in
the same tokens: compare the final validation losses. Where the CPU figures are *estimated*
(the `tdp-model` and `ram-model` methods above) they follow time and utilisation, not the
actual circuitry, so treat small differences with care; on a machine with RAPL or a GPU with
NVML the notebook reports measured counters instead. Other processes running on the machine
at the same time are counted too (tracking mode `machine`).
"""),
    ("md", r"""
## Every cell

`%carbon report` lists this notebook's costliest cells from the CSV, with a chart.
"""),
    ("code", r"""
%carbon report
"""),
]


NOTEBOOKS = {"random_forest.ipynb": ("rf", RANDOM_FOREST), "gpt_training.ipynb": ("gpt", GPT)}


def build(names=NOTEBOOKS) -> list[Path]:
    out = []
    for name in names:
        prefix, specs = NOTEBOOKS[name]
        path = HERE / name
        nbformat.write(_notebook(prefix, specs), path)
        out.append(path)
    return out


def execute(path: Path, timeout: int = 1800) -> float:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("JPY_SESSION_NAME")
    os.environ["JPY_SESSION_NAME"] = str(path)
    t0 = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("JPY_SESSION_NAME", None)
        else:
            os.environ["JPY_SESSION_NAME"] = env_before
    elapsed = time.perf_counter() - t0
    nbformat.write(nb, path)
    for leftover in path.parent.glob(f"{path.stem}.carbon*.csv"):
        leftover.unlink()
    return elapsed


def update_markdown(names=NOTEBOOKS) -> None:
    """Replace the markdown cells of the executed notebooks, keeping their outputs; refuses
    when a code cell changed (then the notebook must be re-executed)."""
    for name in names:
        path = HERE / name
        old = nbformat.read(path, as_version=4)
        new = _notebook(*NOTEBOOKS[name])
        if [(c.cell_type, c.source) for c in old.cells if c.cell_type == "code"] != \
                [(c.cell_type, c.source) for c in new.cells if c.cell_type == "code"] \
                or len(old.cells) != len(new.cells):
            sys.exit(f"{name}: code cells changed; run with --execute instead")
        for o, n in zip(old.cells, new.cells):
            if o.cell_type == "markdown":
                o.source = n.source
        nbformat.write(old, path)


if __name__ == "__main__":
    only = [a for a in sys.argv[1:] if a.endswith(".ipynb")]
    if "--markdown" in sys.argv[1:]:
        update_markdown(only or NOTEBOOKS)
        sys.exit(0)
    paths = build(only or NOTEBOOKS)
    if "--execute" in sys.argv[1:]:
        for p in paths:
            print(f"executing {p.name} ...", flush=True)
            print(f"  {execute(p):.0f} s, {p.stat().st_size / 1024:.0f} KiB", flush=True)
