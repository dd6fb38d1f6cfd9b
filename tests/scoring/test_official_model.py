"""`install_model --official`: the whole download path against a server on 127.0.0.1."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from moderation.models import ActiveModel
from moderation.scoring import official
from moderation.scoring.detoxify import file_sha256
from moderation.scoring.registry import active_scorer, scorer_choice

pytestmark = pytest.mark.django_db


def install_official(*args: str) -> str:
    out = io.StringIO()
    call_command("install_model", "--official", "original", *args, stdout=out,
                 stderr=io.StringIO())
    return out.getvalue()


def models_dir(settings) -> Path:
    return Path(settings.MODELS_DIR)


def test_release_table_is_detoxifys(settings):
    """Our release paths and default base URL give exactly detoxify's own URLs."""
    from detoxify.detoxify import MODEL_URLS

    assert {name: official.release_url(release)
            for name, release in official.OFFICIAL_RELEASES.items()} == MODEL_URLS
    assert official.hub_url(official.OFFICIAL_RELEASES["multilingual"], "config.json") == \
        "https://huggingface.co/xlm-roberta-base/resolve/main/config.json"


@pytest.mark.parametrize(("model_type", "tokenizer"), [
    ("original", "BertTokenizer"), ("unbiased", "RobertaTokenizer"),
    ("multilingual", "XLMRobertaTokenizer"), ("original-small", "AlbertTokenizer"),
    ("unbiased-small", "AlbertTokenizer"),
])
def test_each_type_fetches_what_its_tokenizer_reads(model_type, tokenizer):
    """The hub files of every type: its tokenizer's vocabulary required, its tokenizer.json
    taken where there is one, config.json always; never the base model's weights."""
    import transformers

    release = official.OFFICIAL_RELEASES[model_type]
    names = getattr(transformers, tokenizer).vocab_files_names
    wanted = {name for key, name in names.items() if key != "tokenizer_file"}
    assert set(release.required_files) == {"config.json"} | wanted
    assert names["tokenizer_file"] in release.optional_files
    fetched = release.required_files + release.optional_files
    assert not any(name.endswith((".bin", ".safetensors", ".h5", ".msgpack")) for name in fetched)


def test_official_download_verifies_installs_and_scores(official_server, settings):
    out = install_official()
    served = official_server.server
    # Only the checkpoint and the base model's config and tokenizer: never its weights.
    assert served.paths_requested()[0] == official_server.checkpoint_path
    assert not any(path.endswith("model.safetensors") for path in served.paths_requested())
    row = ActiveModel.objects.get()
    directory = models_dir(settings) / f"detoxify-original-{official_server.sha256[:12]}"
    assert Path(row.checkpoint) == directory / Path(official_server.checkpoint_path).name
    assert Path(row.hf_config) == directory / "hf"
    assert row.checksum == file_sha256(row.checkpoint)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["checkpoint"]["release_sha256"] == official_server.sha256  # the full hash
    assert manifest["checkpoint"]["installed_sha256"] == row.checksum
    assert set(manifest["hub_files"]) == {"config.json", "vocab.txt", "tokenizer_config.json"}
    # The hub's config had no labels: the checkpoint's classes were written in.
    config = json.loads((directory / "hf" / "config.json").read_text())
    assert list(config["id2label"].values())[:2] == ["toxicity", "severe_toxicity"]
    loaded = torch.load(row.checkpoint, weights_only=True)
    assert loaded["config"]["arch"]["args"]["model_type"] == str(directory / "hf")
    assert not (models_dir(settings) / ".download" / "original" / "assembling").exists()
    assert f"release sha256 {official_server.sha256}" in out
    choice = scorer_choice()
    assert choice.reason == "installed model" and choice.backend == "detoxify"
    (scores,) = active_scorer().score(["you are an idiot"])
    assert set(scores) >= {"toxicity", "insult"}
    # A rerun downloads nothing and keeps the same active model.
    served.requests.clear()
    assert "already downloaded" in install_official()
    assert served.requests == [] and ActiveModel.objects.get().checksum == row.checksum


def test_truncated_download_is_never_activated_and_a_rerun_resumes(official_server, settings):
    served = official_server.server
    path = official_server.checkpoint_path
    half = len(served.files[path]) // 2
    served.truncate_next[path] = half
    with pytest.raises(CommandError, match=r"(truncated|broke).*run the command again to resume"):
        install_official()
    assert not ActiveModel.objects.exists()
    assert list(models_dir(settings).glob("detoxify-*")) == []  # nothing in place
    record = official.last_failed_download()
    assert record["model_type"] == "original" and "resume" in record["error"]
    part = models_dir(settings) / ".download" / "original" / (Path(path).name + ".part")
    assert part.stat().st_size == half

    served.requests.clear()
    install_official()
    assert served.requests[0] == (path, f"bytes={half}-")  # resumed, not restarted
    assert ActiveModel.objects.get().checkpoint.endswith(Path(path).name)
    assert not part.exists() and official.last_failed_download() is None


def test_a_server_that_ignores_the_range_starts_over(official_server, settings):
    served = official_server.server
    path = official_server.checkpoint_path
    served.truncate_next[path] = 1000
    with pytest.raises(CommandError):
        install_official()
    served.ignore_range = True
    install_official()  # the 200 body is the whole file: not appended to the part
    assert (path, "bytes=1000-") in served.requests  # asked to resume, got the whole file
    manifest = json.loads(next(models_dir(settings).glob("detoxify-*/manifest.json")).read_text())
    assert manifest["checkpoint"]["release_sha256"] == official_server.sha256


def test_wrong_hash_is_refused_deleted_and_a_rerun_starts_afresh(official_server, settings):
    served = official_server.server
    path = official_server.checkpoint_path
    good = served.files[path]
    served.files[path] = good[:-10] + b"x" * 10  # same length, other bytes
    with pytest.raises(CommandError, match=r"sha256 [0-9a-f]{64} does not start with "
                       + official_server.sha256[:8]):
        install_official()
    assert not ActiveModel.objects.exists()
    assert list(models_dir(settings).glob("detoxify-*")) == []
    assert list((models_dir(settings) / ".download" / "original").glob("*.part")) == []

    served.files[path] = good
    served.requests.clear()
    install_official()
    assert served.requests[0] == (path, None)  # a fresh download, no range
    assert ActiveModel.objects.exists()


def test_missing_hub_file_or_dead_server_installs_nothing(official_server, settings):
    served = official_server.server
    del served.files["/hub/bert-base-uncased/resolve/main/vocab.txt"]
    with pytest.raises(CommandError, match=r"vocab\.txt: not found \(HTTP 404\)"):
        install_official()
    assert not ActiveModel.objects.exists()
    assert list(models_dir(settings).glob("detoxify-*")) == []

    settings.DETOXIFY_RELEASE_URL = "http://127.0.0.1:9/releases"  # nothing listens on 9
    with pytest.raises(CommandError, match="official original model: http://127.0.0.1:9/"):
        install_official("--timeout", "2")
    settings.DETOXIFY_RELEASE_URL = "file:///etc/releases"
    with pytest.raises(CommandError, match="only http and https"):
        install_official()
    assert not ActiveModel.objects.exists()


def test_a_second_download_of_the_same_type_waits_its_turn(official_server, settings):
    import fcntl

    staging = models_dir(settings) / ".download"
    staging.mkdir(parents=True)
    with (staging / "original.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what a running install_model holds
        with pytest.raises(CommandError, match="another install_model --official original"):
            install_official()
    assert official_server.server.requests == [] and not ActiveModel.objects.exists()


def test_a_complete_part_left_unverified_is_downloaded_again(official_server, settings):
    """A run killed after the last byte but before the hash: the range is past the end
    (416), so the rerun starts over rather than trusting or appending to the part."""
    served = official_server.server
    path = official_server.checkpoint_path
    staging = models_dir(settings) / ".download" / "original"
    staging.mkdir(parents=True)
    (staging / (Path(path).name + ".part")).write_bytes(served.files[path])
    install_official()
    size = len(served.files[path])
    assert served.requests[:2] == [(path, f"bytes={size}-"), (path, None)]
    assert ActiveModel.objects.exists()
