"""`model_status`, the reason it gives, and SCORING_PRECISION=auto."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from moderation.scoring import official
from moderation.scoring.detoxify import DetoxifyOptions, DetoxifyScorer
from moderation.scoring.embedded import LABELS
from moderation.scoring.precision import cpu_flags, precision_choice
from moderation.scoring.registry import reset_active_scorer
from moderation.scoring.status import model_status, model_status_line

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("models_dir_isolated")]

AVX512_NO_BF16 = frozenset({"sse4_2", "avx2", "avx512f", "avx512bw", "avx512vl"})


@pytest.mark.parametrize(("flags", "model_type", "device", "expected"), [
    (AVX512_NO_BF16 | {"avx512_bf16"}, "original", "cpu", "bf16-mixed"),  # AMD EPYC Zen 4
    (AVX512_NO_BF16 | {"amx_bf16", "amx_tile"}, "multilingual", "cpu", "bf16-mixed"),
    (frozenset({"fp", "asimd", "bf16"}), "unbiased", "cpu", "bf16-mixed"),  # Arm v8.6
    (AVX512_NO_BF16, "original", "cpu", "fp32"),  # oneDNN would emulate bf16: slower
    (frozenset(), "original", "cpu", "fp32"),  # not Linux, or no flags
    (AVX512_NO_BF16 | {"avx512_bf16"}, "original-small", "cpu", "fp32"),  # ALBERT
    (AVX512_NO_BF16 | {"avx512_bf16"}, "original", "cuda:0", "fp32"),
])
def test_auto_picks_the_fastest_mode_within_001_of_fp32(flags, model_type, device, expected):
    precision, why = precision_choice("auto", model_type=model_type, device=device, flags=flags)
    assert precision == expected and why.startswith(f"auto: {expected}")
    # Never bf16 or int8 (over 0.01 from fp32 on the bench), whatever the CPU.
    assert precision in {"fp32", "bf16-mixed"}
    assert precision_choice("int8", flags=flags) == ("int8", "SCORING_PRECISION=int8")


def test_defaults_are_auto_precision_and_a_per_model_worker_shape(tiny_model):
    probe = subprocess.run(
        [sys.executable, "-c", "import os, django; django.setup(); from django.conf import "
         "settings as s; from config.celery import app; print(s.SCORING_PRECISION, "
         "app.conf.worker_concurrency, s.SCORING_TORCH_THREADS, s.SCORING_TASK_BATCH, "
         "len(os.sched_getaffinity(0)))"],
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings",
             "SECRET_KEY": "x", "DEBUG": "0"},
        cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=60)
    precision, children, threads, task_batch, cores = probe.stdout.split()
    # No children set: a starting worker picks them per model (test_worker_shape.py);
    # torch on every core, 256 ids a task (docs/scoring.md "Celery").
    assert (precision, children, threads, task_batch) == ("auto", "None", cores, "256"), (
        probe.stderr)
    checkpoint, hf_dir = tiny_model
    scorer = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint), hf_config=str(hf_dir),
                                            precision="auto"))
    expected, _ = precision_choice("auto")
    assert scorer.precision == expected
    converted = any(type(module).__name__ == "BF16Linear" for module in scorer.model.modules())
    assert converted == (expected == "bf16-mixed")


def test_status_of_the_fallback_says_why_and_how_to_install(settings, embedded_model_copy):
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    status = model_status()  # no detoxify weights: the embedded model, not the fallback
    assert status.backend == "embedded" and not status.is_fallback
    assert status.labels == LABELS and status.languages == ("en",)
    assert "no detoxify weights are present" in status.reason
    assert "install_model" not in status.reason
    (embedded_model_copy / "SHA256SUMS").unlink()  # the fallback only as the last resort
    reset_active_scorer()
    status = model_status()
    assert status.is_fallback and status.labels == ("toxicity",) and status.languages == ("en",)
    assert "no detoxify weights are present" in status.reason
    assert "install_model --official original" in status.reason
    assert [option.model_type for option in status.official] == list(official.OFFICIAL_RELEASES)
    # A failed official download is part of the reason (make demo's line says it).
    official._attempt_record("original", "http://x/: timed out")
    line = model_status_line()
    assert line.startswith("Scoring with fallback scorer") and "\n" not in line
    assert "the official original download failed at" in line and "timed out" in line
    settings.SCORER = "fallback"
    assert model_status().reason == "SCORER=fallback is set"


def test_model_status_command_after_an_official_install(official_server):
    call_command("install_model", "--official", "original", stdout=io.StringIO(),
                 stderr=io.StringIO())
    out = io.StringIO()
    call_command("model_status", stdout=out)
    text = out.getvalue()
    assert "Active model: detoxify original" in text
    assert "why:        installed with install_model --official original" in text
    assert "labels:     toxicity, severe_toxicity, obscene, threat, insult, identity_attack" \
        in text
    assert "languages:  en" in text and "precision:  " in text
    assert f"sha256:     {official_server.sha256} (as released)" in text
    assert "install_model --official multilingual" in text and "(installed)" in text
    out = io.StringIO()
    call_command("model_status", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["backend"] == "detoxify" and data["manifest"]["model_type"] == "original"
    assert data["precision"] == precision_choice("auto")[0]
    assert cpu_flags() is cpu_flags()  # read once per process
