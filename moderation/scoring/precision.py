"""SCORING_PRECISION=auto: the fastest precision that keeps scores within 0.01 of fp32.

Decided from the CPU's capabilities without torch (the web process and
`model_status` call it too), by one rule the bench sets (docs/benchmarks.md,
"Scoring"; `bench/scoring_bench.py` prints each mode's speed and its largest
difference from fp32):

- bf16 (autocast everywhere) and int8 move scores by more than 0.01: never
  chosen by auto, however fast;
- bf16-mixed stays within 0.01 of fp32 (0.0084-0.0089 on the bench; the only
  reduced mode that does)
  and is faster than fp32 only where the CPU does bf16 matmuls natively (x86
  `avx512_bf16` or `amx_bf16`, Arm `bf16`); without them oneDNN emulates bf16
  and it is several times slower than fp32, although torch reports bf16
  support (hence the flags, not torch's check);
- ALBERT (the `-small` types) shares one layer across the encoder, so
  bf16-mixed has no separate first layers to convert: fp32;
- other devices (`cuda:0`): fp32 (these are CPU modes).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
SHARED_LAYER_TYPES = frozenset({"original-small", "unbiased-small"})


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags Linux reports (x86 `flags`, Arm `Features`); empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"flags", "Features"}:
            return frozenset(value.split())
    return frozenset()


def precision_choice(requested: str, *, model_type: str = "original", device: str = "cpu",
                     flags: frozenset[str] | None = None) -> tuple[str, str]:
    """(precision to run, why) for a SCORING_PRECISION value; only `auto` is decided here.

    An explicit mode is returned as asked (the scorer still falls back to fp32,
    with a warning, where bf16 is asked for and torch finds no bf16 support).
    """
    if requested != "auto":
        return requested, f"SCORING_PRECISION={requested}"
    flags = cpu_flags() if flags is None else flags
    if not device.startswith("cpu"):
        return "fp32", f"auto: fp32 on {device} (the reduced modes are CPU modes)"
    native = sorted(NATIVE_BF16_FLAGS & flags)
    if not native:
        return "fp32", ("auto: fp32, as this CPU has no native bf16 (no avx512_bf16, amx_bf16 "
                        "or bf16 flag); bf16 and int8 move scores by more than 0.01")
    if model_type in SHARED_LAYER_TYPES:
        return "fp32", (f"auto: fp32, as {model_type} (ALBERT) shares one layer, which "
                        "bf16-mixed leaves in fp32")
    return "bf16-mixed", (f"auto: bf16-mixed, the fastest mode within 0.01 of fp32, as this "
                          f"CPU has native bf16 ({', '.join(native)})")
