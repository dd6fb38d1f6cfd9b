"""Build detoxify checkpoints with random weights, in detoxify's own format.

Used by the tests (a tiny BERT, loads in well under a second) and by the
benchmark (bert-base shape: the same compute as the real `original` model).
Offline: the vocabulary is written by hand (plus, for the benchmark, words
from a corpus so token counts are realistic), and the checkpoint's base-model
field points at the local Hugging Face directory, as `install_model` does.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# The Jigsaw 2018 classes, in the original checkpoint's order and spelling
# (detoxify renames toxic -> toxicity etc. when it loads them).
ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
DETOXIFY_LABELS = ("toxicity", "severe_toxicity", "obscene", "threat", "insult",
                   "identity_attack")

TINY_WORDS = ["you", "are", "an", "idiot", "hello", "friend", "thanks", "the", "is", "great",
              "article", "stupid", "hate", "kill", "good", "point"]


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int | None  # None: exactly the words given


TINY = Shape(hidden=32, layers=2, heads=2, intermediate=64, vocab_size=None)
BERT_BASE = Shape(hidden=768, layers=12, heads=12, intermediate=3072, vocab_size=30522)


def _vocab(words: Iterable[str], size: int | None) -> list[str]:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = string.ascii_lowercase + string.digits + string.punctuation
    vocab += list(pieces) + [f"##{c}" for c in pieces]
    seen = set(vocab)
    for word in words:
        word = word.lower()
        if word and word not in seen and len(vocab) < (size or 10**9):
            seen.add(word)
            vocab.append(word)
    if size is not None:
        vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def build_detoxify_checkpoint(
    directory: Path,
    *,
    shape: Shape = TINY,
    words: Iterable[str] = TINY_WORDS,
    seed: int = 0,
    point_base_model_at_directory: bool = True,
    classifier_scale: float = 20.0,
) -> tuple[Path, Path]:
    """Write `model.ckpt` and a Hugging Face config dir `hf/`; return both paths.

    With `point_base_model_at_directory=False` the checkpoint names
    "bert-base-uncased" as the official ones do (install_model rewrites it).
    """
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    hf_dir = directory / "hf"
    hf_dir.mkdir(exist_ok=True)
    vocab = _vocab(words, shape.vocab_size)
    (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=shape.hidden, num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads, intermediate_size=shape.intermediate,
        max_position_embeddings=512, num_labels=len(ORIGINAL_CLASSES),
        id2label=dict(enumerate(DETOXIFY_LABELS)),
        label2id={label: i for i, label in enumerate(DETOXIFY_LABELS)},
    )
    config.save_pretrained(hf_dir)
    tokenizer = transformers.BertTokenizer(str(hf_dir / "vocab.txt"), do_lower_case=True,
                                           model_max_length=512)
    tokenizer.save_pretrained(hf_dir)
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(config)
    # Spread the classifier's outputs so random weights give varied scores
    # (x20: logits spread about like a trained classifier's, std ~5; x1 leaves
    # every score near 0.5). The spread also scales up reduced-precision error.
    with torch.no_grad():
        model.classifier.weight.mul_(classifier_scale)
    checkpoint = {
        "config": {
            "arch": {
                "args": {
                    "model_type": str(hf_dir) if point_base_model_at_directory
                    else "bert-base-uncased",
                    "model_name": "BertForSequenceClassification",
                    "tokenizer_name": "BertTokenizer",
                    "num_classes": len(ORIGINAL_CLASSES),
                }
            },
            "dataset": {"args": {"classes": ORIGINAL_CLASSES}},
        },
        "state_dict": model.state_dict(),
    }
    path = directory / "model.ckpt"
    torch.save(checkpoint, path)
    return path, hf_dir
