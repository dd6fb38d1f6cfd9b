"""The embedded backend: tox-block 0.1.2's BiLSTM, re-implemented in PyTorch.

tox-block (MIT, https://github.com/Pascal-Bliem/tox-block) ships a Keras
model trained on the Jigsaw 2018 toxic comment data: a Keras `Tokenizer`
(20,000 words, no out-of-vocabulary token), sequences padded and truncated at
the front to 100 tokens, a 50-dimensional embedding (initialised from GloVe),
a bidirectional LSTM of 50 units per direction, a max over time, a 50-unit
ReLU layer and six sigmoids. `scripts/convert_toxblock.py`, run once in a
throwaway environment with TensorFlow, wrote its weights and vocabulary to
`embedded_model/` (LICENSE and PROVENANCE.md there) and recorded the Keras
model's own scores; tests/scoring/test_embedded.py holds this port to them.

What the port keeps exactly as Keras ran it:

- the tokenizer: lower-case, every character of Keras' default filter set
  replaced by a space, split on " " only (other whitespace stays inside a
  word, as in Keras), words at index >= 20,000 or unknown dropped;
- padding and truncation at the front ("pre"): the last 100 known words count,
  and the padding index 0 is run through the LSTM like a word (the model has
  no mask, so padding changes the scores; it is part of the model);
- the recurrent activation is the legacy Keras `hard_sigmoid`,
  clip(0.2 x + 0.5, 0, 1) (Keras 3 redefines it as x / 6 + 0.5); the gate
  order is Keras' i, f, c, o.

Unlike tox-block's `make_predictions`, an empty text (or one with no known
word) is scored, not refused, and the raw sigmoid outputs are returned, not
tox-block's optional min-max "rescaling" (which can exceed 1). Labels are
renamed to detoxify's names, so the label table serves both models.

No TensorFlow at run time; torch is imported when the scorer is built, in the
process that scores (never in Celery's prefork parent).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import EMBEDDED_PREFIX

MODEL_NAME = "tox-block-0.1.2"
MODEL_DIR = Path(__file__).resolve().parent / "embedded_model"
WEIGHTS_FILE = "tox_block_0.1.2_weights.npz"
VOCAB_FILE = "tox_block_0.1.2_vocab.json"
SUMS_FILE = "SHA256SUMS"

# tox-block's config: MAX_FEATURES, MAX_SEQUENCE_LENGTH, NUM_LSTM_UNITS.
NUM_WORDS = 20000
MAX_LENGTH = 100
UNITS = 50
# keras_preprocessing.text.Tokenizer's default `filters`.
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_TRANSLATE = str.maketrans(dict.fromkeys(KERAS_FILTERS, " "))

# tox-block's LIST_CLASSES, in output order, under detoxify's names.
KERAS_LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
LABEL_RENAMES = {"toxic": "toxicity", "severe_toxic": "severe_toxicity",
                 "identity_hate": "identity_attack"}
LABELS = tuple(LABEL_RENAMES.get(name, name) for name in KERAS_LABELS)

# Texts per forward pass: every text is 100 steps long, so batches are uniform.
BATCH_SIZE = 256


class EmbeddedModelError(ImproperlyConfigured):
    """The embedded model's files are missing, or not the files this release shipped."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=4)
def _verified_checksum(directory: str, stamp: tuple) -> str:
    folder = Path(directory)
    try:
        expected = {}
        for line in (folder / SUMS_FILE).read_text(encoding="utf-8").splitlines():
            digest, _, name = line.strip().partition("  ")
            if digest:
                expected[name] = digest
    except OSError as exc:
        raise EmbeddedModelError(f"{folder / SUMS_FILE}: cannot read it ({exc.strerror})") from None
    combined = hashlib.sha256()
    for name in (WEIGHTS_FILE, VOCAB_FILE):
        path = folder / name
        if name not in expected:
            raise EmbeddedModelError(f"{folder / SUMS_FILE} names no checksum for {name}")
        try:
            actual = _sha256(path)
        except OSError as exc:
            raise EmbeddedModelError(f"{path}: cannot read it ({exc.strerror})") from None
        if actual != expected[name]:
            raise EmbeddedModelError(
                f"{path}: sha256 {actual} is not {expected[name]} ({SUMS_FILE}); the file "
                "changed since the release. Restore it from the repository"
            )
        combined.update(actual.encode())
    return combined.hexdigest()


def embedded_checksum(directory: Path | None = None) -> str:
    """sha256 over the weights' and vocabulary's sha256s, checked against SHA256SUMS.

    Hashed once per process while the files stay the same (size, mtime, inode).
    Raises EmbeddedModelError naming the file when one is missing or changed.
    """
    directory = directory or MODEL_DIR
    stamp = []
    for name in (SUMS_FILE, WEIGHTS_FILE, VOCAB_FILE):
        try:
            stat = (directory / name).stat()
        except OSError:
            stamp.append(None)
            continue
        stamp.append((stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino))
    return _verified_checksum(str(directory), tuple(stamp))


def embedded_key(directory: Path | None = None) -> str:
    """embedded:tox-block-0.1.2:<first 12 hex of the files' checksum> (no torch)."""
    return f"{EMBEDDED_PREFIX}{MODEL_NAME}:{embedded_checksum(directory)[:12]}"


class KerasTokenizer:
    """Keras' Tokenizer.texts_to_sequences + pad_sequences, as tox-block ran them.

    num_words=20000, oov_token=None, lower=True, split=" ", the default
    filters; then pad_sequences(maxlen=100, padding="pre", truncating="pre").
    """

    def __init__(self, words: Sequence[str]) -> None:
        # words[0] is index 1 (Keras' index 0 is padding); only indices below
        # num_words were ever used, and only those ship.
        self.index = {word: i for i, word in enumerate(words[: NUM_WORDS - 1], start=1)}

    def words(self, text: str) -> list[str]:
        """text_to_word_sequence: lower, filters -> " ", split on " ", drop empties."""
        return [word for word in text.lower().translate(_TRANSLATE).split(" ") if word]

    def sequence(self, text: str) -> list[int]:
        index = self.index
        return [i for i in map(index.get, self.words(text)) if i is not None]

    def padded(self, text: str) -> list[int]:
        ids = self.sequence(text)[-MAX_LENGTH:]
        return [0] * (MAX_LENGTH - len(ids)) + ids


def _vocabulary(directory: Path) -> list[str]:
    words = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
    if not (isinstance(words, list) and all(isinstance(word, str) for word in words)):
        raise EmbeddedModelError(f"{directory / VOCAB_FILE}: not a JSON list of words")
    return words


def _network_class():  # torch is imported lazily (the web process never needs it)
    import torch

    class ToxBlockNet(torch.nn.Module):
        """Embedding -> BiLSTM (hard_sigmoid gates) -> max over time -> Dense ReLU -> sigmoids.

        Both directions run in one batched matmul per step (the backward one
        on the time-reversed inputs): a max over time does not care which
        direction a step came from, so no outputs are stored, only a running
        max. The hard sigmoid's 0.2 x + 0.5 is folded into the i, f and o
        columns of the weights at load, so each step clips instead of scaling.
        """

        def __init__(self, arrays: dict) -> None:
            super().__init__()
            t = {name: torch.from_numpy(arrays[name]).float() for name in arrays.files}
            # Gate columns i, f, c, o (Keras) -> i, f, o, c, hard-sigmoid scaled.
            def gates(matrix, is_bias=False):
                i, f, c, o = matrix.split(UNITS, dim=-1)
                scaled = torch.cat([i, f, o], dim=-1) * 0.2
                if is_bias:
                    scaled = scaled + 0.5
                return torch.cat([scaled, c], dim=-1)

            # Each word's input projection, both directions, bias included: a
            # gather per step instead of a matmul over the batch's embeddings
            # (rows 0..19999 forward, 20000..39999 backward; 32 MB).
            self.projection = torch.cat([
                t["embedding"] @ gates(t["forward_kernel"]) + gates(t["forward_bias"], True),
                t["embedding"] @ gates(t["backward_kernel"]) + gates(t["backward_bias"], True),
            ])
            self.recurrent = torch.stack([gates(t["forward_recurrent_kernel"]),
                                          gates(t["backward_recurrent_kernel"])])
            self.dense_kernel, self.dense_bias = t["dense_kernel"], t["dense_bias"]
            self.out_kernel, self.out_bias = t["output_kernel"], t["output_bias"]
            # The forward direction's states after k leading padding steps are
            # the same for every text: computed once, so a batch starts its
            # forward pass at its shortest padding instead of at step 0.
            self.pad_h, self.pad_c, self.pad_max = self._padding_states()

        def _step(self, projected, h, c, recurrent):  # noqa: ANN001, ANN202 (tensors)
            """One LSTM step for every row of `h`, gates i, f, o (hard sigmoid) and c."""
            z = torch.baddbmm(projected, h, recurrent)
            s = z[..., :3 * UNITS].clamp_(0.0, 1.0)
            g = z[..., 3 * UNITS:].tanh_()
            c = torch.addcmul(s[..., UNITS:2 * UNITS] * c, s[..., :UNITS], g)
            return s[..., 2 * UNITS:] * torch.tanh(c), c

        def _padding_states(self):  # noqa: ANN202 (tensors)
            pad = self.projection[0].view(1, 1, 4 * UNITS)
            h = pad.new_zeros(1, 1, UNITS)
            c = pad.new_zeros(1, 1, UNITS)
            pooled = pad.new_full((1, 1, UNITS), float("-inf"))
            hs, cs, maxima = [h], [c], [pooled]
            for _ in range(MAX_LENGTH):
                h, c = self._step(pad, h, c, self.recurrent[:1])
                pooled = torch.maximum(pooled, h)
                hs.append(h)
                cs.append(c)
                maxima.append(pooled)
            return [torch.cat(states).view(-1, UNITS) for states in (hs, cs, maxima)]

        def forward(self, ids: torch.Tensor, padding: int = 0) -> torch.Tensor:
            """Scores for (B, 100) padded ids; `padding`: the fewest leading 0s of any row."""
            batch, steps = ids.shape
            time_major = ids.t()
            # (T, 2B): at each step the forward word and the backward (reversed) word.
            rows = torch.cat([time_major, time_major.flip(0) + NUM_WORDS], dim=1).contiguous()
            projection = self.projection
            h = projection.new_zeros(2, batch, UNITS)
            c = projection.new_zeros(2, batch, UNITS)
            pooled = projection.new_full((2, batch, UNITS), float("-inf"))
            # Steps before `padding`: only the backward direction has work.
            back_h, back_c, back_max = h[1:], c[1:], pooled[1:]
            for step in range(padding):
                projected = projection.index_select(0, rows[step, batch:]).view(1, batch, -1)
                back_h, back_c = self._step(projected, back_h, back_c, self.recurrent[1:])
                back_max = torch.maximum(back_max, back_h)
            h = torch.cat([self.pad_h[padding].expand(1, batch, UNITS), back_h])
            c = torch.cat([self.pad_c[padding].expand(1, batch, UNITS), back_c])
            pooled = torch.cat([self.pad_max[padding].expand(1, batch, UNITS), back_max])
            for step in range(padding, steps):
                projected = projection.index_select(0, rows[step]).view(2, batch, -1)
                h, c = self._step(projected, h, c, self.recurrent)
                pooled = torch.maximum(pooled, h, out=pooled)
            features = torch.cat([pooled[0], pooled[1]], dim=-1)  # (B, 100): forward, backward
            hidden = torch.relu(features @ self.dense_kernel + self.dense_bias)
            return torch.sigmoid(hidden @ self.out_kernel + self.out_bias)

    return ToxBlockNet


_EXPECTED_SHAPES = {
    "embedding": (NUM_WORDS, 50),
    "forward_kernel": (50, 4 * UNITS), "forward_recurrent_kernel": (UNITS, 4 * UNITS),
    "forward_bias": (4 * UNITS,),
    "backward_kernel": (50, 4 * UNITS), "backward_recurrent_kernel": (UNITS, 4 * UNITS),
    "backward_bias": (4 * UNITS,),
    "dense_kernel": (2 * UNITS, 50), "dense_bias": (50,),
    "output_kernel": (50, len(KERAS_LABELS)), "output_bias": (len(KERAS_LABELS),),
}


def _weights(directory: Path):  # noqa: ANN202 (a numpy NpzFile)
    import numpy as np

    path = directory / WEIGHTS_FILE
    # allow_pickle=False: arrays of numbers only, never objects.
    arrays = np.load(path, allow_pickle=False)
    shapes = {name: arrays[name].shape for name in arrays.files}
    if shapes != _EXPECTED_SHAPES:
        raise EmbeddedModelError(f"{path}: unexpected arrays {shapes}")
    return arrays


class EmbeddedScorer:
    """tox-block 0.1.2 in PyTorch. Build it in the process that will use it."""

    labels: tuple[str, ...] = LABELS
    languages: tuple[str, ...] = ("en",)

    def __init__(self, *, threads: int = 1, directory: Path | None = None) -> None:
        import torch

        directory = directory or MODEL_DIR
        if threads > 0:
            torch.set_num_threads(threads)
        self.key = embedded_key(directory)
        self.tokenizer = KerasTokenizer(_vocabulary(directory))
        self.model = _network_class()(_weights(directory)).eval()

    def probabilities(self, texts: Sequence[str]):  # noqa: ANN201 (a float32 ndarray)
        """The six sigmoid outputs per text, in Keras' label order (n x 6)."""
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        sequences = [self.tokenizer.sequence(text or "")[-MAX_LENGTH:] for text in texts]
        # Longest first: a batch's forward pass starts at its shortest padding.
        order = sorted(range(len(texts)), key=lambda i: -len(sequences[i]))
        ids = torch.zeros((len(texts), MAX_LENGTH), dtype=torch.long)
        for row, i in enumerate(order):
            if sequences[i]:
                ids[row, MAX_LENGTH - len(sequences[i]):] = torch.tensor(sequences[i])
        result = torch.empty((len(texts), len(LABELS)))
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                longest = len(sequences[order[start]])
                result[start:start + BATCH_SIZE] = self.model(
                    ids[start:start + BATCH_SIZE], padding=MAX_LENGTH - longest)
        unsorted = torch.empty_like(result)
        unsorted[torch.tensor(order)] = result
        return unsorted.numpy()

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [dict(zip(LABELS, map(float, row), strict=True))
                for row in self.probabilities(texts)]
