"""Convert tox-block 0.1.2's Keras model for moderation/scoring/embedded.py, once.

Run in a throwaway environment with TensorFlow, never in the project's venv
(the project does not depend on TensorFlow):

    python3.11 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu tf-keras tox-block==0.1.2 keras-preprocessing
    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python scripts/convert_toxblock.py \
        --labeled ../shared/data/labeled

The model only loads through the legacy Keras path (tf-keras with
TF_USE_LEGACY_KERAS=1); its pickled tokenizer is a keras_preprocessing
Tokenizer, hence keras-preprocessing. It writes:

- moderation/scoring/embedded_model/: the weights (numpy .npz, arrays of
  numbers only), the vocabulary (JSON list: word of index 1, 2, ... 19999),
  SHA256SUMS, tox-block's LICENSE and PROVENANCE.md;
- tests/data/toxblock/keras_recording.json.gz: for a fixed set of texts (the
  labelled Jigsaw samples and edge cases), the Keras tokenizer's padded ids and
  the Keras model's raw sigmoid outputs, with the samples' labels: the port's
  parity test and the ROC AUC bench read it.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "moderation" / "scoring" / "embedded_model"
RECORDING = ROOT / "tests" / "data" / "toxblock" / "keras_recording.json.gz"
KERAS_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]

# Texts that probe the tokenizer and the model's edges, beside the samples.
EDGE_TEXTS = [
    "",
    "   ",
    "I will kill you, you fucking idiot!",
    "Good morning my friend, I hope you're having a fantastic day!",
    "I do strongly disagree with the fascist views of this joke that calls itself a "
    "political party.",
    # issue 12's queue examples
    "Fuck yeah I'm glad they did that shit",
    "I also am an idiot",
    "I know where you live, cyclist42. Watch yourself on Elm Street tonight.",
    "He was an authoritarian theocratic scumbag",
    "Kitabı çok beğendim, yazarın anlatımı akıcı ve karakterler gerçekçi.",
    # tokenizer edges: case, filters, apostrophes, whitespace other than " "
    "YOU.ARE.AN-IDIOT!!! (really) [[User:Foo|bar]] {x} ~y~ `z`",
    "don't won't it's you're\tthe\nend",
    "line one\r\nline two\u00a0nbsp\u2028separator\x0bvertical\x0cfeed",
    "😀🔥 привет мир 你好世界 مرحبا",
    "zzqxj qwpfk xkcdv",
    "http://example.com/page?id=1 visit 192.168.0.1 now",
    # past 100 words: truncation keeps the last 100
    "the point is good " * 400,
    "you are a stupid idiot " + "and the article was about gardening " * 30,
    "and the article was about gardening " * 30 + " you are a stupid idiot",
]


def read_labeled(directory: Path) -> list[dict]:
    """Every labelled row (labels -1 are unlabelled and skipped), first copy of a text only."""
    rows, seen = [], set()
    for path in sorted(directory.glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=1):
                labels = {name: int(row[name]) for name in KERAS_LABELS}
                if any(value < 0 for value in labels.values()):
                    continue
                text = row["comment_text"]
                if text in seen:
                    continue
                seen.add(text)
                rows.append({"text": text, "labels": labels, "source": f"{path.name}:{number}"})
    return rows


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_npz(path: Path, arrays: dict) -> None:
    """np.savez_compressed, byte for byte reproducible (fixed zip timestamps).

    The model key names the files' checksum: converting again must not change it.
    """
    import zipfile

    import numpy as np

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array),
                                          allow_pickle=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labeled", type=Path, default=ROOT.parent / "shared/data/labeled")
    args = parser.parse_args()
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        sys.exit("set TF_USE_LEGACY_KERAS=1: the model loads only through tf-keras")

    import pandas as pd
    from tox_block.config import config
    from tox_block.prediction import _encoder, _model, make_predictions

    # The architecture this port implements, checked rather than assumed.
    lstm = _model.get_layer("bidirectional").get_config()
    cell = lstm["layer"]["config"]
    assert lstm["merge_mode"] == "concat", lstm["merge_mode"]
    assert (cell["activation"], cell["recurrent_activation"]) == ("tanh", "hard_sigmoid")
    assert cell["units"] == 50 and cell["use_bias"] and cell["return_sequences"]
    assert not _model.get_layer("embedding").get_config()["mask_zero"]
    assert _model.get_layer("dense").get_config()["activation"] == "relu"
    assert _model.get_layer("dense_1").get_config()["activation"] == "sigmoid"
    tokenizer = _encoder.tokenizer
    assert (tokenizer.num_words, tokenizer.oov_token, tokenizer.lower, tokenizer.split,
            tokenizer.char_level) == (20000, None, True, " ", False)
    assert tokenizer.filters == '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
    assert _encoder.max_sequence_length == 100 and config.LIST_CLASSES == KERAS_LABELS

    embedding = _model.get_layer("embedding").get_weights()[0]
    fk, frk, fb, bk, brk, bb = _model.get_layer("bidirectional").get_weights()
    dense_kernel, dense_bias = _model.get_layer("dense").get_weights()
    output_kernel, output_bias = _model.get_layer("dense_1").get_weights()
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    weights = MODEL_DIR / "tox_block_0.1.2_weights.npz"
    write_npz(weights, {
        "embedding": embedding,
        "forward_kernel": fk, "forward_recurrent_kernel": frk, "forward_bias": fb,
        "backward_kernel": bk, "backward_recurrent_kernel": brk, "backward_bias": bb,
        "dense_kernel": dense_kernel, "dense_bias": dense_bias,
        "output_kernel": output_kernel, "output_bias": output_bias,
    })
    words = [tokenizer.index_word[i] for i in range(1, tokenizer.num_words)]
    vocab = MODEL_DIR / "tox_block_0.1.2_vocab.json"
    vocab.write_text(json.dumps(words, ensure_ascii=False) + "\n", encoding="utf-8")
    (MODEL_DIR / "SHA256SUMS").write_text(
        "".join(f"{sha256(path)}  {path.name}\n" for path in (weights, vocab)), encoding="utf-8"
    )

    samples = read_labeled(args.labeled)
    items = samples + [{"text": text, "labels": None, "source": "edge"} for text in EDGE_TEXTS]
    texts = [item["text"] for item in items]
    ids = _encoder.transform(pd.DataFrame(texts, columns=["text"]))
    raw = _model.predict(ids, batch_size=256, verbose=0)
    # tox-block's own entry point (it refuses an empty text) gives the same numbers.
    nonempty = [i for i, text in enumerate(texts) if text]
    public = make_predictions([texts[i] for i in nonempty], rescale=False)
    for row, i in enumerate(nonempty):
        for column, name in enumerate(KERAS_LABELS):
            assert abs(public[row][name] - raw[i][column]) < 1e-6, (i, name)
    for item, row_ids, row in zip(items, ids.tolist(), raw.tolist(), strict=True):
        item["ids"] = row_ids
        item["probabilities"] = row
    RECORDING.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "model": "tox-block 0.1.2 (PyPI wheel sha256 "
                 "ed3a934f77d456f5324a6ae1b55bd9a3d404f6ebdb30aedad73dea5a2f01b7ed)",
        "recorded_with": {name: version(name) for name in
                          ("tensorflow", "tf-keras", "keras-preprocessing", "numpy")},
        "labels": KERAS_LABELS,
        "items": items,
    }
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as handle:
        handle.write(json.dumps(document, ensure_ascii=False).encode("utf-8"))
    RECORDING.write_bytes(buffer.getvalue())
    print(f"wrote {weights.name} ({weights.stat().st_size} bytes), {vocab.name} "
          f"({len(words)} words), {RECORDING.relative_to(ROOT)} ({len(items)} texts: "
          f"{len(samples)} labelled samples, {len(EDGE_TEXTS)} edge cases)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
