"""Checkpoints are data, never code: read with weights_only, re-hashed against install_model.

A crafted checkpoint (tests.helpers.build_evil_checkpoint) would create a
marker file if anything unpickled it; an installed checkpoint changed after
install_model is refused by every loader, and nothing is scored with it.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import torch
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from moderation.models import ActiveModel, ToxicityScore
from moderation.scoring.detoxify import (
    OFFICIAL_FILES,
    CheckpointRefusedError,
    DetoxifyOptions,
    DetoxifyScorer,
    file_sha256,
)
from moderation.scoring.pipeline import comments_needing_scoring, comments_score_in_process
from moderation.scoring.registry import active_scorer, reset_active_scorer, scorer_choice
from moderation.scoring.tasks import score_comments_task
from tests.helpers import build_detoxify_checkpoint, build_evil_checkpoint, child_database_url
from threads.models import Comment

TEXTS = ["you are an idiot", "hello friend", "", "thanks for the great article " * 3]


@pytest.fixture
def evil(tmp_path):
    marker = tmp_path / "pwned"
    checkpoint, hf_dir = build_evil_checkpoint(tmp_path / "evil", marker)
    return checkpoint, hf_dir, marker


@pytest.fixture
def installed(tmp_path, settings):
    """A tiny checkpoint installed by install_model (the active model)."""
    checkpoint, hf_dir = build_detoxify_checkpoint(tmp_path / "installed",
                                                   point_base_model_at_directory=False)
    settings.SCORER = "detoxify"
    settings.DETOXIFY_CHECKPOINT = ""
    call_command("install_model", "--checkpoint", str(checkpoint), "--hf-config", str(hf_dir),
                 stdout=io.StringIO())
    reset_active_scorer()
    yield checkpoint.resolve(), hf_dir.resolve()
    reset_active_scorer()


def _tamper(path) -> None:
    """Change bytes in place, keeping size and mtime (only ctime tells)."""
    stat = path.stat()
    with path.open("r+b") as handle:
        handle.seek(stat.st_size // 2)
        byte = handle.read(1)
        handle.seek(stat.st_size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_rescore_sync_with_a_code_running_checkpoint_refuses_and_runs_nothing(evil, make_thread):
    """`DETOXIFY_CHECKPOINT=evil.ckpt manage.py rescore --all --sync`, as an operator runs it."""
    checkpoint, hf_dir, marker = evil
    make_thread(["hello friend", "you are an idiot"])
    env = {**os.environ, "SECRET_KEY": "t", "DEBUG": "0", "DATABASE_URL": child_database_url(),
           "SCORER": "detoxify", "DETOXIFY_CHECKPOINT": str(checkpoint),
           "DETOXIFY_HF_CONFIG": str(hf_dir), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "rescore", "--all", "--sync"], cwd=django_settings.BASE_DIR,
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert not marker.exists(), "unpickling the checkpoint ran its command"
    assert result.returncode != 0
    assert f"{checkpoint}: refused: it holds objects other than tensors" in result.stderr
    assert "Traceback" not in result.stderr
    assert not ToxicityScore.objects.exists()


@pytest.mark.django_db
def test_every_loader_refuses_the_code_running_checkpoint(evil, settings, make_thread, tmp_path,
                                                          monkeypatch):
    checkpoint, hf_dir, marker = evil
    make_thread(["hello friend"])
    # rescore --sync in this process: a clean CommandError naming the file.
    settings.SCORER = "detoxify"
    settings.DETOXIFY_CHECKPOINT = str(checkpoint)
    settings.DETOXIFY_HF_CONFIG = str(hf_dir)
    reset_active_scorer()
    with pytest.raises(CommandError, match=f"{checkpoint}: refused"):
        call_command("rescore", "--all", "--sync", stdout=io.StringIO())
    # install_model reads it as data too.
    with pytest.raises(CommandError, match="refused: it holds objects other than tensors"):
        call_command("install_model", "--checkpoint", str(checkpoint), "--hf-config",
                     str(hf_dir), stdout=io.StringIO())
    assert not ActiveModel.objects.exists()
    # The official weights in torch.hub's cache are read the same way.
    hub = tmp_path / "torch-home"
    (hub / "hub" / "checkpoints").mkdir(parents=True)
    (hub / "hub" / "checkpoints" / OFFICIAL_FILES["original"]).write_bytes(
        checkpoint.read_bytes())
    monkeypatch.setenv("TORCH_HOME", str(hub))
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    assert scorer_choice().reason == "official weights"
    reset_active_scorer()
    with pytest.raises(CheckpointRefusedError, match="refused"):
        active_scorer()
    reset_active_scorer()
    assert not marker.exists()
    assert not ToxicityScore.objects.exists()


@pytest.mark.django_db
def test_an_installed_checkpoint_changed_after_install_is_refused_everywhere(
    installed, make_thread
):
    checkpoint, hf_dir = installed
    recorded = ActiveModel.objects.get().checksum
    assert file_sha256(checkpoint) == recorded  # hashed (and cached) by install_model
    comments = make_thread(["hello friend", "you are an idiot"])
    ids = [c.pk for c in comments]
    key = scorer_choice().key

    _tamper(checkpoint)
    actual = file_sha256(checkpoint)  # the per-process cache is not fooled by the kept mtime
    assert actual != recorded
    expected_message = f"{checkpoint}: sha256 {actual} does not match {recorded}"

    # The worker's path: the real task fails before scoring anything ...
    result = score_comments_task.apply(args=(ids,))
    assert result.failed() and isinstance(result.result, CheckpointRefusedError)
    assert expected_message in str(result.result)
    with pytest.raises(CheckpointRefusedError, match=expected_message):
        comments_score_in_process(comment_ids=ids)
    # ... so the comments stay unscored, and the sweep's query still finds them.
    assert not ToxicityScore.objects.exists()
    assert set(comments_needing_scoring(model_key=key).values_list("pk", flat=True)) >= set(ids)
    with pytest.raises(CommandError, match=expected_message):
        call_command("rescore", "--all", "--sync", stdout=io.StringIO())

    # install_model re-run on the installed file refuses it, recording nothing ...
    with pytest.raises(CommandError, match=expected_message):
        call_command("install_model", "--checkpoint", str(checkpoint), "--hf-config",
                     str(hf_dir), stdout=io.StringIO())
    assert ActiveModel.objects.get().checksum == recorded


@pytest.mark.django_db
def test_install_model_replace_accepts_a_new_file_on_purpose(installed, make_thread):
    checkpoint, hf_dir = installed
    recorded = ActiveModel.objects.get().checksum
    build_detoxify_checkpoint(checkpoint.parent, seed=1)  # new weights, same path
    call_command("install_model", "--checkpoint", str(checkpoint), "--hf-config", str(hf_dir),
                 "--replace", stdout=io.StringIO())
    assert ActiveModel.objects.get().checksum == file_sha256(checkpoint) != recorded
    reset_active_scorer()
    make_thread(["hello friend"])
    assert comments_score_in_process(comment_ids=Comment.objects.values_list("pk", flat=True)
                                     ).scored == 1
    # A re-run on the unchanged file is as before: nothing to refuse.
    call_command("install_model", "--checkpoint", str(checkpoint), "--hf-config", str(hf_dir),
                 stdout=io.StringIO())


def test_our_loader_builds_exactly_the_model_detoxify_builds(tiny_model):
    """Same weights, labels and tokenizer as detoxify's own (unpickling) loader on a
    trusted file, so the same scores, bit for bit."""
    from detoxify.detoxify import load_checkpoint

    checkpoint, hf_dir = tiny_model
    theirs, tokenizer, labels = load_checkpoint(checkpoint=str(checkpoint),
                                                huggingface_config_path=str(hf_dir))
    ours = DetoxifyScorer(DetoxifyOptions(checkpoint=str(checkpoint), hf_config=str(hf_dir)))
    assert ours.labels == tuple(labels)
    assert ours.tokenizer.get_vocab() == tokenizer.get_vocab()
    state = theirs.state_dict()
    assert ours.model.state_dict().keys() == state.keys()
    assert all(torch.equal(tensor, state[name]) for name, tensor in
               ours.model.state_dict().items())
    expected = ours.score(TEXTS)
    ours.model = theirs.eval()
    assert ours.score(TEXTS) == expected
