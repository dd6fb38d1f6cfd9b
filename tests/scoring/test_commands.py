"""`rescore` and `install_model`, run as commands."""

from __future__ import annotations

import io
import json

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from moderation.models import ActiveModel, Decision, ToxicityScore
from moderation.scoring.detoxify import file_sha256
from moderation.scoring.registry import active_scorer, reset_active_scorer, scorer_choice
from tests.helpers import build_detoxify_checkpoint
from threads.models import Comment

pytestmark = pytest.mark.django_db


def rescore(*args: str) -> dict:
    out = io.StringIO()
    call_command("rescore", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_rescore_sync_is_idempotent_and_force_rescoring(make_thread, use_tiny_detoxify):
    comments = make_thread(["you are an idiot", "hello friend", ""])
    first = rescore("--all", "--sync")
    assert first["scored"] == 3 and first["skipped"] == 0
    assert first["entered_queue"] == Comment.objects.filter(needs_review=True).count()
    assert first["left_queue"] == 0
    assert rescore("--all", "--sync") == {"scored": 0, "skipped": 3, "entered_queue": 0,
                                          "left_queue": 0}
    decisions = Decision.objects.count()
    forced = rescore("--all", "--sync", "--force")
    assert (forced["scored"], forced["entered_queue"]) == (3, 0)
    assert ToxicityScore.objects.count() == 3 and Decision.objects.count() == decisions
    assert len(comments) == 3


def test_rescore_selects_by_thread_unscored_stale_and_since(make_thread, use_tiny_detoxify):
    a = make_thread(["one", "two"], external_id="a")
    make_thread(["three"], external_id="b")
    assert rescore("--thread", str(a[0].thread_id), "--sync")["scored"] == 2
    assert rescore("--unscored", "--dry-run") == {"scored": 1, "skipped": 0,
                                                  "entered_queue": 0, "left_queue": 0}
    assert ToxicityScore.objects.count() == 2  # dry run wrote nothing
    make_thread(["one, edited", "two"], external_id="a")
    assert rescore("--stale", "--dry-run")["scored"] == 1
    assert rescore("--since", "2999-01-01", "--dry-run")["scored"] == 0
    assert rescore("--since", "2000-01-01", "--dry-run")["scored"] == 2  # undated: imported


def test_rescore_human_summary_names_the_model(make_thread, use_tiny_detoxify):
    make_thread(["x"])
    out = io.StringIO()
    call_command("rescore", "--all", "--sync", stdout=out)
    text = out.getvalue()
    assert "scored 1, skipped 0 unchanged, " in text and "model: detoxify original" in text


def test_rescore_enqueue_with_the_broker_down_says_so(make_thread, settings):
    from config.celery import app
    from tests.helpers import point_celery_app

    settings.SCORER = "fallback"
    make_thread(["x", "y"])
    old = app.conf.broker_url
    point_celery_app("redis://127.0.0.1:1/5")
    try:
        with pytest.raises(CommandError, match="broker is unreachable.*--sync"):
            call_command("rescore", "--all", stdout=io.StringIO())
    finally:
        point_celery_app(old)


def test_rescore_refuses_bad_arguments(make_thread):
    with pytest.raises(CommandError, match="say what to re-score"):
        call_command("rescore")
    with pytest.raises(CommandError, match="no thread with id 4242"):
        call_command("rescore", "--thread", "4242")
    with pytest.raises(CommandError, match="--since"):
        call_command("rescore", "--since", "yesterday")


def test_install_model_rewrites_base_model_and_activates(tmp_path, settings, make_thread):
    checkpoint, hf_dir = build_detoxify_checkpoint(tmp_path, point_base_model_at_directory=False)
    settings.SCORER = "auto"
    settings.DETOXIFY_CHECKPOINT = ""
    out = io.StringIO()
    call_command("install_model", "--checkpoint", str(checkpoint), "--hf-config", str(hf_dir),
                 stdout=out)
    loaded = torch.load(checkpoint, weights_only=True)
    assert loaded["config"]["arch"]["args"]["model_type"] == str(hf_dir.resolve())
    row = ActiveModel.objects.get()
    assert row.checksum == file_sha256(checkpoint)
    assert "active model: detoxify:original:" in out.getvalue()
    try:
        choice = scorer_choice()
        assert choice.key == f"detoxify:original:{row.checksum[:12]}"
        assert choice.reason == "installed model"
        reset_active_scorer()
        (comment,) = make_thread(["scored by the installed model"])
        rescore_result = rescore("--all", "--sync")
        assert rescore_result["scored"] == 1
        assert ToxicityScore.objects.get(comment=comment).model_key == choice.key
        assert active_scorer().key == choice.key
    finally:
        reset_active_scorer()


def test_install_model_refuses_a_mismatched_pair(tmp_path):
    checkpoint, hf_dir = build_detoxify_checkpoint(tmp_path)
    config = json.loads((hf_dir / "config.json").read_text())
    config["id2label"] = {"0": "LABEL_0", "1": "LABEL_1"}
    (hf_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(CommandError, match=r"config\.json: id2label has 2 label\(s\)"):
        call_command("install_model", "--checkpoint", str(checkpoint), "--hf-config",
                     str(hf_dir))
    assert not ActiveModel.objects.exists()


def test_install_model_refuses_files_that_are_not_checkpoints(tmp_path):
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(CommandError, match="bogus.ckpt: not a readable torch checkpoint"):
        call_command("install_model", "--checkpoint", str(bogus), "--hf-config", str(tmp_path))
    torch.save({"state_dict": {}}, bogus)
    with pytest.raises(CommandError, match="bogus.ckpt: not a detoxify checkpoint"):
        call_command("install_model", "--checkpoint", str(bogus), "--hf-config", str(tmp_path))
    with pytest.raises(CommandError, match="no such checkpoint"):
        call_command("install_model", "--checkpoint", str(tmp_path / "nope"), "--hf-config",
                     str(tmp_path))
