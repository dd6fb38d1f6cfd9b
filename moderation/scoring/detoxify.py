"""The detoxify backend: detoxify's checkpoint format, our loading and inference.

Loading: detoxify's own loader unpickles the checkpoint with
`torch.load(weights_only=False)`, so a crafted file runs code in the worker.
We read checkpoints (local or official) with `weights_only=True`, which
yields only tensors and plain containers, check their shape, and build the
model from `config.arch.args` and `state_dict` with detoxify's
`get_model_and_tokenizer`, as its loader does. A checkpoint whose sha256
install_model recorded is re-hashed before it is read (`checkpoint_verify`).

Inference: `Detoxify.predict` pads every call to its longest text and returns
floats instead of lists for a single text. We run the model ourselves:
texts are tokenized once, sorted by token count, and batched so that padding
is per batch of similar lengths, each batch capped both in texts and in padded
tokens (many short comments per batch, few long ones: a 32 x 512 batch's
activations spill out of the CPU caches and run slower per token than several
smaller ones); an empty input returns an empty list; texts
are truncated at the model's position limit. Precision: fp32, bf16 (CPU
autocast, where the CPU has native bf16), bf16-mixed (bf16 matmuls in the
Linear layers of the first 5 of every 12 encoder layers; everything else,
including the residual stream, in fp32: within 0.01 of fp32, slower than bf16) or
int8 (dynamic quantization of the Linear layers).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

MODEL_TYPES = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")
# What each model type was trained on (detoxify's README): the multilingual
# model's seven languages; every other type, English only.
MODEL_LANGUAGES = {
    "original": ("en",),
    "unbiased": ("en",),
    "multilingual": ("en", "fr", "es", "it", "pt", "tr", "ru"),
    "original-small": ("en",),
    "unbiased-small": ("en",),
}
PRECISIONS = ("auto", "fp32", "bf16", "bf16-mixed", "int8")  # auto: precision.py
# bf16-mixed: encoder layers run with bf16 matmuls, of every 12 (bf16_mixed).
BF16_LAYERS_PER_12 = 5

# The official release URLs end in a content hash; it names the weights in the
# model key before (and without) downloading them.
OFFICIAL_FILES = {
    "original": "toxic_original-c1212f89.ckpt",
    "unbiased": "toxic_debiased-c7548aa0.ckpt",
    "multilingual": "multilingual_debiased-0b549669.ckpt",
    "original-small": "original-albert-0e1d6498.ckpt",
    "unbiased-small": "unbiased-albert-c8519128.ckpt",
}


@dataclass(frozen=True)
class DetoxifyOptions:
    model_type: str = "original"
    checkpoint: str = ""  # empty: the official weights (downloaded on first use)
    hf_config: str = ""  # local Hugging Face config + tokenizer directory
    device: str = "cpu"
    batch_size: int = 32
    max_batch_tokens: int = 1024  # texts x padded length per batch (one long text always fits)
    precision: str = "fp32"
    threads: int = 1
    checksum: str = ""  # known checksum (install_model records it); else computed

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(
                f"unknown detoxify model type {self.model_type!r}; use one of {MODEL_TYPES}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; use one of {PRECISIONS}")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if self.max_batch_tokens < 1:
            raise ValueError("max batch tokens must be at least 1")


def official_cache_path(model_type: str) -> Path:
    """Where torch.hub keeps a downloaded official checkpoint."""
    import os

    hub = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(hub) / "hub" / "checkpoints" / OFFICIAL_FILES[model_type]


# detoxify renames the Jigsaw 2018 classes when it loads a checkpoint; so do we.
CLASS_RENAMES = {"toxic": "toxicity", "identity_hate": "identity_attack",
                 "severe_toxic": "severe_toxicity"}


class CheckpointRefusedError(ImproperlyConfigured):
    """A checkpoint that must not be loaded: changed since install_model, or not plain data."""


@lru_cache(maxsize=8)
def _file_sha256(path: str, size: int, mtime_ns: int, ctime_ns: int, inode: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, hashed once per process while the file stays the same.

    The cache key is (path, size, mtime, ctime, inode): a file replaced by a
    rename gets a new inode, and rewriting it in place changes its ctime even
    when its size and mtime are put back (ctime cannot be set from userland).
    """
    stat = Path(path).stat()
    return _file_sha256(str(path), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns,
                        stat.st_ino)


def checkpoint_verify(path: str | Path, expected_sha256: str) -> None:
    """Refuse a checkpoint whose sha256 is not the one install_model recorded."""
    actual = file_sha256(path)
    if actual != expected_sha256:
        raise CheckpointRefusedError(
            f"{path}: sha256 {actual} does not match {expected_sha256}, recorded when "
            "install_model installed it; the file changed since. Refusing to load it. If "
            "the new file is intended, run install_model --replace on it"
        )


def checkpoint_read(path: str | Path, *, device: str = "cpu") -> dict[str, Any]:
    """Read a detoxify checkpoint as data: tensors and plain containers, never code.

    `weights_only=True` unpickles only tensors, their storages, dicts (ordered
    too), lists, tuples, strings and numbers; detoxify's releases hold nothing
    else (a "config" dict from JSON and a "state_dict" OrderedDict of tensors),
    so no extra type is allow-listed. Anything else is refused, naming the file.
    """
    import pickle

    import torch

    try:
        loaded = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's message wraps one line of substance in advice to reload with
        # weights_only=False (which this function exists never to do).
        boilerplate = ("Weights only load failed", "Please file an issue", "Check the doc")
        reason = " ".join(line.strip() for line in str(exc).splitlines()
                          if line.strip() and not line.strip().startswith(boilerplate))
        if "GLOBAL" not in reason:  # garbage bytes, not a refused object
            raise CheckpointRefusedError(
                f"{path}: not a readable torch checkpoint ({reason})") from None
        raise CheckpointRefusedError(
            f"{path}: refused: it holds objects other than tensors and plain data, which "
            f"could run code when loaded ({reason})"
        ) from None
    except Exception as exc:
        raise CheckpointRefusedError(f"{path}: not a readable torch checkpoint ({exc})") from None
    try:
        args = loaded["config"]["arch"]["args"]
        classes = loaded["config"]["dataset"]["args"]["classes"]
        model_name, tokenizer_name = args["model_name"], args["tokenizer_name"]
        args["model_type"], args["num_classes"]  # noqa: B018 (presence)
        loaded["state_dict"].items  # noqa: B018
    except (KeyError, TypeError, AttributeError):
        raise CheckpointRefusedError(
            f"{path}: not a detoxify checkpoint (needs config.arch.args, "
            "config.dataset.args.classes and state_dict)"
        ) from None
    # The names pick classes out of transformers by getattr: only model and
    # tokenizer classes, never an arbitrary attribute of the package.
    if not (isinstance(model_name, str) and model_name.endswith("ForSequenceClassification")
            and isinstance(tokenizer_name, str)
            and tokenizer_name.endswith(("Tokenizer", "TokenizerFast"))
            and all(isinstance(name, str) for name in classes)):
        raise CheckpointRefusedError(
            f"{path}: not a detoxify checkpoint (model {model_name!r}, tokenizer "
            f"{tokenizer_name!r}: expected a *ForSequenceClassification and a *Tokenizer)"
        )
    return loaded


def official_checkpoint_path(model_type: str) -> Path:
    """The official checkpoint in torch.hub's cache, downloaded first if missing.

    Downloaded with torch.hub (to a temporary file, moved into place when
    complete), then read like any checkpoint: detoxify's own
    `load_state_dict_from_url(weights_only=False)` is never used.
    """
    import torch
    from detoxify.detoxify import MODEL_URLS

    path = official_cache_path(model_type)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(MODEL_URLS[model_type], str(path), progress=False)
    return path


def detoxify_model_build(loaded: dict[str, Any], *, hf_config: str = "",
                         device: str = "cpu") -> tuple[Any, Any, tuple[str, ...]]:
    """(model, tokenizer, labels) from a checkpoint read by `checkpoint_read`.

    What detoxify's `load_checkpoint` does after its torch.load: rename the
    classes, then `get_model_and_tokenizer` with the checkpoint's arch args.
    """
    from detoxify.detoxify import get_model_and_tokenizer

    args = loaded["config"]["arch"]["args"]
    labels = tuple(CLASS_RENAMES.get(name, name)
                   for name in loaded["config"]["dataset"]["args"]["classes"])
    model, tokenizer = get_model_and_tokenizer(
        model_type=args["model_type"], model_name=args["model_name"],
        tokenizer_name=args["tokenizer_name"], num_classes=args["num_classes"],
        state_dict=loaded["state_dict"], huggingface_config_path=hf_config or None,
    )
    return model.to(device), tokenizer, labels


def model_key_for(options: DetoxifyOptions) -> str:
    """backend:model type:first 12 hex of the weights' sha256 (no torch needed)."""
    if options.checksum:
        checksum = options.checksum
    elif options.checkpoint:
        checksum = file_sha256(options.checkpoint)
    else:
        checksum = OFFICIAL_FILES[options.model_type].rsplit("-", 1)[1].split(".")[0]
    return f"detoxify:{options.model_type}:{checksum[:12]}"


def bf16_supported() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _bf16_linear_class():  # torch is imported lazily (the web process never needs it)
    import torch

    class BF16Linear(torch.nn.Module):
        """A Linear whose matmul runs in bf16 and whose output is back in fp32."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(linear.weight.detach().to(torch.bfloat16),
                                             requires_grad=False)
            self.bias = None if linear.bias is None else torch.nn.Parameter(
                linear.bias.detach().to(torch.bfloat16), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias)
            return out.to(x.dtype)

    return BF16Linear


def bf16_mixed(model):  # noqa: ANN001, ANN201 (a transformers model)
    """Run the Linear layers of the first BF16_LAYERS_PER_12 of every 12 encoder layers
    in bf16.

    Only those matmuls (QKV, attention output, FFN: nearly all of a layer's
    compute) are bf16; the residual stream, layer norms, attention scores and
    softmax stay fp32 between them, and so do the later layers, the pooler and
    the classifier. The error a bf16 layer adds shrinks as later fp32 layers
    process it, while error added by the last layers goes straight to the
    classifier. Measured on the bench's random bert-base with native bf16
    (docs/benchmarks.md, fourth session): with the first 8 of 12 layers in
    bf16 scores moved by up to 0.0148 (1.8x fp32), 7: 0.0133, 6: 0.0113, 5:
    0.0084 and 0.0089 on two text mixes (1.36x fp32), so 5: the most bf16
    that keeps the bench within 0.01, which `auto` promises.
    """
    import torch

    linear_class = _bf16_linear_class()
    layers = getattr(getattr(model.base_model, "encoder", None), "layer", None)
    if layers is None:  # ALBERT shares one layer: keep it fp32 rather than guess
        logger.warning("bf16-mixed needs an encoder with separate layers; scoring in fp32")
        return model
    # At least one: a small test encoder of 2 layers still runs one in bf16.
    for layer in list(layers)[: max(1, len(layers) * BF16_LAYERS_PER_12 // 12)]:
        for name, module in list(layer.named_modules()):
            if isinstance(module, torch.nn.Linear):
                parent_name, _, attribute = name.rpartition(".")
                setattr(layer.get_submodule(parent_name), attribute, linear_class(module))
    return model


class DetoxifyScorer:
    """A loaded detoxify model. Build it in the process that will use it."""


    def __init__(self, options: DetoxifyOptions) -> None:
        import torch

        if options.threads > 0:
            torch.set_num_threads(options.threads)
        self.options = options
        self.key = model_key_for(options)
        self.languages = MODEL_LANGUAGES[options.model_type]
        path = options.checkpoint or official_checkpoint_path(options.model_type)
        if options.checksum and options.checkpoint:
            checkpoint_verify(path, options.checksum)
        loaded = checkpoint_read(path, device=options.device)
        model, self.tokenizer, self.labels = detoxify_model_build(
            loaded, hf_config=options.hf_config, device=options.device
        )
        del loaded
        model = model.eval()
        from .precision import precision_choice

        self.precision, self.precision_reason = precision_choice(
            options.precision, model_type=options.model_type, device=options.device)
        if self.precision.startswith("bf16") and not bf16_supported():
            logger.warning("this CPU has no native bf16; scoring in fp32 instead")
            self.precision = "fp32"
        if (self.precision == "bf16-mixed" and options.precision == "auto"
                and getattr(getattr(model.base_model, "encoder", None), "layer", None) is None):
            self.precision = "fp32"  # ALBERT under another type name: auto stays quiet
        if self.precision == "bf16-mixed":
            model = bf16_mixed(model)
        if self.precision == "int8":
            with warnings.catch_warnings():
                # torch.ao.quantization is deprecated in favour of torchao, which
                # is not installed; the eager API still works in torch 2.x.
                warnings.simplefilter("ignore")
                from torch.ao.quantization import quantize_dynamic

                model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        self.max_length = self._max_length()

    def _max_length(self) -> int:
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", 512)
        if getattr(config, "model_type", "") in {"roberta", "xlm-roberta"}:
            limit -= 2  # position ids start after the padding index
        tokenizer_limit = getattr(self.tokenizer, "model_max_length", limit) or limit
        return min(limit, tokenizer_limit)

    def _batches(self, order: list[int], lengths: list[int]) -> list[list[int]]:
        """Split ascending-length `order` into batches within both caps."""
        batches: list[list[int]] = []
        current: list[int] = []
        for index in order:
            # Sorted ascending, so this text is the batch's longest once added.
            padded = (len(current) + 1) * lengths[index]
            if current and (
                len(current) >= self.options.batch_size
                or padded > self.options.max_batch_tokens
            ):
                batches.append(current)
                current = []
            current.append(index)
        if current:
            batches.append(current)
        return batches

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        import torch

        if not texts:
            return []
        # Tokenize once without padding; sort by length so each batch pads
        # only to its own longest text.
        encoded = self.tokenizer(
            [text or "" for text in texts],
            truncation=True,
            max_length=self.max_length,
            padding=False,
        )["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        results: list[dict[str, float] | None] = [None] * len(texts)
        with torch.inference_mode():
            for chunk in self._batches(order, [len(ids) for ids in encoded]):
                batch = self.tokenizer.pad(
                    {"input_ids": [encoded[i] for i in chunk]}, return_tensors="pt"
                ).to(self.options.device)
                if self.precision == "bf16":
                    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                        logits = self.model(**batch).logits
                else:
                    logits = self.model(**batch).logits
                # 2-D always, even for one text: no squeeze() surprises.
                probabilities = torch.sigmoid(logits.float()).reshape(len(chunk), -1).tolist()
                for index, row in zip(chunk, probabilities, strict=True):
                    results[index] = dict(zip(self.labels, row, strict=True))
        return results  # type: ignore[return-value]
