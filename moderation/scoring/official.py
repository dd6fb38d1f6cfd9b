"""The official detoxify checkpoints: where they are published, and their download.

`official_model_fetch(model_type)` downloads detoxify's released checkpoint for
that type and its base model's config and tokenizer files from the hub (only
those, never the base model's own weights), verifies the checkpoint against
the sha256 prefix its release file name carries, and assembles a directory
that `install_model` then installs like any local pair:

    MODELS_DIR/detoxify-<type>-<first 12 hex of the release sha256>/
        <release file name>      the checkpoint, base-model field -> hf/
        hf/                      config.json (id2label set to the checkpoint's
                                 classes) and the tokenizer files
        manifest.json            URLs, sizes and sha256 of every file

Nothing is visible under that name until every file is downloaded and
checked: the files are written under `MODELS_DIR/.download/` and the
directory is renamed into place last. An interrupted checkpoint download
leaves its `.part` file there, and a rerun resumes it with an HTTP Range
request (or starts over where the server ignores the range); a checkpoint
whose hash is wrong is deleted, so a rerun downloads it afresh. Every read
has a timeout and every file a size limit. Each failed attempt is recorded in
`MODELS_DIR/last-download.json`, which `model_status`, the /models/ page and
`make demo` show; a successful one removes it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from .detoxify import CLASS_RENAMES, OFFICIAL_FILES

# What detoxify 0.5.4 publishes (detoxify.detoxify.MODEL_URLS, relative to its
# DOWNLOAD_URL), the base model each checkpoint was fine-tuned from (its
# config.arch.args.model_type) and that model's tokenizer files on the hub.
# A test checks this table against detoxify's own.


@dataclass(frozen=True)
class OfficialRelease:
    model_type: str
    release_path: str  # relative to DETOXIFY_RELEASE_URL
    base_model: str  # hub repository id
    required_files: tuple[str, ...]  # config.json and the tokenizer's vocabulary
    optional_files: tuple[str, ...] = ("tokenizer_config.json", "tokenizer.json",
                                       "special_tokens_map.json")
    languages: tuple[str, ...] = ("en",)
    summary: str = ""

    @property
    def file_name(self) -> str:
        return self.release_path.rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str:
        """The hex between the last '-' and the extension (torch.hub's convention)."""
        return self.file_name.rsplit("-", 1)[1].split(".")[0]


# Jigsaw Multilingual's languages (the multilingual model's training data).
MULTILINGUAL = ("en", "fr", "es", "it", "pt", "tr", "ru")

OFFICIAL_RELEASES = {
    "original": OfficialRelease(
        "original", "v0.1-alpha/" + OFFICIAL_FILES["original"], "bert-base-uncased",
        ("config.json", "vocab.txt"),
        summary="BERT base, Jigsaw 2018 (6 labels), English; about 440 MB"),
    "unbiased": OfficialRelease(
        "unbiased", "v0.3-alpha/" + OFFICIAL_FILES["unbiased"], "roberta-base",
        ("config.json", "vocab.json", "merges.txt"),
        summary="RoBERTa base, Jigsaw Unintended Bias (less identity bias), English; "
        "about 500 MB"),
    "multilingual": OfficialRelease(
        "multilingual", "v0.4-alpha/" + OFFICIAL_FILES["multilingual"], "xlm-roberta-base",
        ("config.json", "sentencepiece.bpe.model"), languages=MULTILINGUAL,
        summary="XLM-RoBERTa base, Jigsaw Multilingual (en fr es it pt tr ru); about 1.1 GB"),
    "original-small": OfficialRelease(
        "original-small", "v0.1.2/" + OFFICIAL_FILES["original-small"], "albert-base-v2",
        ("config.json", "spiece.model"),
        summary="ALBERT base, as original but smaller and faster, English; about 50 MB"),
    "unbiased-small": OfficialRelease(
        "unbiased-small", "v0.1.2/" + OFFICIAL_FILES["unbiased-small"], "albert-base-v2",
        ("config.json", "spiece.model"),
        summary="ALBERT base, as unbiased but smaller and faster, English; about 50 MB"),
}

CHECKPOINT_MAX_BYTES = 2 * 1024**3  # the largest release (multilingual) is about 1.1 GB
HUB_FILE_MAX_BYTES = 64 * 1024**2  # tokenizer.json of xlm-roberta-base is about 9 MB
CHUNK = 1 << 20
LAST_ATTEMPT = "last-download.json"


class DownloadError(Exception):
    """A download that did not complete or did not verify; nothing was activated."""


class DownloadBusyError(DownloadError):
    """Another process is downloading this type (not recorded as a failed attempt)."""


@dataclass(frozen=True)
class FetchedModel:
    directory: Path
    checkpoint: Path
    hf_config: Path
    release_sha256: str
    reused: bool  # already downloaded and verified by an earlier run


def models_dir() -> Path:
    # Resolved: the checkpoint's base-model field must name the path
    # install_model resolves too, or it would rewrite (and re-hash) the file.
    return Path(settings.MODELS_DIR).resolve()


def release_url(release: OfficialRelease) -> str:
    return settings.DETOXIFY_RELEASE_URL.rstrip("/") + "/" + release.release_path


def hub_url(release: OfficialRelease, name: str) -> str:
    return f"{settings.MODEL_HUB_URL.rstrip('/')}/{release.base_model}/resolve/main/{name}"


def _check_url(url: str) -> None:
    # urllib also opens file:// and ftp:// URLs; a setting must not reach those.
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise DownloadError(f"{url}: only http and https URLs are downloaded")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _open(url: str, *, timeout: float, offset: int = 0):  # noqa: ANN202 (an HTTP response)
    _check_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": "threadkeeper-install-model"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (scheme checked)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return exc  # the range is past the end: the caller starts over
        if exc.code == 404:
            raise FileNotFoundError(url) from None
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{url}: {reason}") from None


def _copy(response, handle, *, url: str, limit: int, already: int, expected: int | None,
          progress: Callable[[int, int | None], None] | None, deadline: float | None) -> int:
    """Stream the body into `handle`; return the bytes written. Raises on a short body."""
    written = already
    while True:
        if deadline is not None and time.monotonic() > deadline:
            handle.flush()
            raise DownloadError(f"{url}: stopped at the time limit after {written} bytes; run "
                                "the command again to resume")
        try:
            block = response.read(CHUNK)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # short, reset, timeout
            handle.flush()
            raise DownloadError(
                f"{url}: the connection broke after {written} bytes ({type(exc).__name__}: "
                f"{exc}); run the command again to resume") from None
        if not block:
            break
        written += len(block)
        if written > limit:
            raise DownloadError(f"{url}: larger than the {limit} byte limit; refused")
        handle.write(block)
        if progress is not None:
            progress(written, expected)
    handle.flush()
    if expected is not None and written < expected:
        raise DownloadError(f"{url}: truncated: {written} of {expected} bytes arrived; run the "
                            "command again to resume")
    return written


def _range_start(response) -> int | None:
    unit_and_range = response.headers.get("Content-Range", "").partition("/")[0]
    start = unit_and_range.removeprefix("bytes ").partition("-")[0].strip()
    return int(start) if start.isdigit() else None


def _total_length(response, offset: int) -> int | None:
    if offset:
        content_range = response.headers.get("Content-Range", "")
        total = content_range.rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _download_checkpoint(url: str, part: Path, *, timeout: float,
                         progress: Callable[[int, int | None], None] | None,
                         deadline: float | None) -> None:
    """Download `url` into `part`, resuming what an earlier run left there."""
    offset = part.stat().st_size if part.is_file() else 0
    try:
        response = _open(url, timeout=timeout, offset=offset)
        if offset and (response.getcode() != 206 or _range_start(response) != offset):
            # 200: the server ignores ranges (this body is the whole file);
            # 416: the part is no prefix it can continue; a 206 from elsewhere
            # than asked cannot be appended. Start over.
            part.unlink()
            offset = 0
            if response.getcode() == 416:
                response.close()
                response = _open(url, timeout=timeout)
    except FileNotFoundError:
        raise DownloadError(f"{url}: not found (HTTP 404)") from None
    with response:
        expected = _total_length(response, offset)
        if expected is not None and expected > CHECKPOINT_MAX_BYTES:
            raise DownloadError(f"{url}: {expected} bytes is over the "
                                f"{CHECKPOINT_MAX_BYTES} byte limit; refused")
        with part.open("ab" if offset else "wb") as handle:
            _copy(response, handle, url=url, limit=CHECKPOINT_MAX_BYTES, already=offset,
                  expected=expected, progress=progress, deadline=deadline)


def _download_small(url: str, target: Path, *, timeout: float, deadline: float | None) -> bool:
    """Download a hub file whole (no resume: they are small); False on a 404."""
    try:
        response = _open(url, timeout=timeout)
    except FileNotFoundError:
        return False
    with response, target.open("wb") as handle:
        _copy(response, handle, url=url, limit=HUB_FILE_MAX_BYTES, already=0,
              expected=_total_length(response, 0), progress=None, deadline=deadline)
    return True


def _attempt_record(model_type: str, error: str | None) -> None:
    path = models_dir() / LAST_ATTEMPT
    if error is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps({"model_type": model_type, "error": error,
                                "at": datetime.now(UTC).isoformat(timespec="seconds")}),
                    encoding="utf-8")
    os.replace(temp, path)


def last_failed_download() -> dict | None:
    """The last official download that failed ({model_type, error, at}), if any since."""
    try:
        record = json.loads((models_dir() / LAST_ATTEMPT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "error" in record else None


def official_model_directory(release: OfficialRelease, release_sha256: str) -> Path:
    return models_dir() / f"detoxify-{release.model_type}-{release_sha256[:12]}"


def _existing(release: OfficialRelease) -> FetchedModel | None:
    """A complete directory an earlier run assembled, if its checkpoint is intact."""
    for directory in sorted(models_dir().glob(f"detoxify-{release.model_type}-*")):
        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            checkpoint = directory / manifest["checkpoint"]["name"]
            if manifest["checkpoint"]["release_sha256"].startswith(release.hash_prefix) and \
                    _sha256(checkpoint) == manifest["checkpoint"]["installed_sha256"]:
                return FetchedModel(directory, checkpoint, directory / "hf",
                                    manifest["checkpoint"]["release_sha256"], reused=True)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def read_manifest(checkpoint: str | Path) -> dict | None:
    """The manifest next to an installed official checkpoint (None for other checkpoints)."""
    try:
        manifest = json.loads((Path(checkpoint).parent / "manifest.json")
                              .read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def official_model_fetch(model_type: str, *, timeout: float | None = None,
                         max_seconds: float | None = None,
                         progress: Callable[[int, int | None], None] | None = None,
                         ) -> FetchedModel:
    """Download, verify and assemble the official model of this type (see the module doc).

    `timeout` bounds each network wait; `max_seconds`, if given, the whole
    download (what is downloaded by then stays for the next run to resume).
    """
    release = OFFICIAL_RELEASES[model_type]
    timeout = float(settings.MODEL_DOWNLOAD_TIMEOUT if timeout is None else timeout)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        with _exclusive(release):
            fetched = _existing(release) or _fetch(release, timeout=timeout,
                                                   progress=progress, deadline=deadline)
    except DownloadBusyError:
        raise
    except DownloadError as exc:
        _attempt_record(model_type, str(exc))
        raise
    _attempt_record(model_type, None)
    return fetched


@contextmanager
def _exclusive(release: OfficialRelease) -> Iterator[None]:
    """One download of a type at a time: a second would write the same .part."""
    import fcntl

    staging = models_dir() / ".download"
    staging.mkdir(parents=True, exist_ok=True)
    with (staging / f"{release.model_type}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadBusyError(f"another install_model --official {release.model_type} is "
                                "running on this machine; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fetch(release: OfficialRelease, *, timeout: float,
           progress: Callable[[int, int | None], None] | None,
           deadline: float | None) -> FetchedModel:
    staging = models_dir() / ".download" / release.model_type
    staging.mkdir(parents=True, exist_ok=True)
    url = release_url(release)
    part = staging / (release.file_name + ".part")
    _download_checkpoint(url, part, timeout=timeout, progress=progress, deadline=deadline)
    release_sha256 = _sha256(part)
    if not release_sha256.startswith(release.hash_prefix):
        part.unlink()
        raise DownloadError(
            f"{url}: sha256 {release_sha256} does not start with {release.hash_prefix}, the "
            "hash in the release file name: corrupt or not the published file. Deleted it; "
            "nothing was installed. Run the command again to download it afresh")

    # The hub files go into a fresh directory each run: they are small.
    assembling = staging / "assembling"
    shutil.rmtree(assembling, ignore_errors=True)
    hf_dir = assembling / "hf"
    hf_dir.mkdir(parents=True)
    files = {}
    for name in release.required_files + release.optional_files:
        file_url = hub_url(release, name)
        if not _download_small(file_url, hf_dir / name, timeout=timeout, deadline=deadline):
            if name in release.required_files:
                raise DownloadError(f"{file_url}: not found (HTTP 404); nothing was installed")
            continue
        files[name] = {"url": file_url, "sha256": _sha256(hf_dir / name),
                       "bytes": (hf_dir / name).stat().st_size}

    directory = official_model_directory(release, release_sha256)
    checkpoint = assembling / release.file_name
    os.replace(part, checkpoint)
    try:
        classes = _point_checkpoint_at(checkpoint, directory / "hf", release)
        _config_labels_set(hf_dir / "config.json", classes, checkpoint)
    except DownloadError:
        checkpoint.unlink(missing_ok=True)  # verified but unusable: nothing to resume
        raise
    manifest = {
        "model_type": release.model_type,
        "base_model": release.base_model,
        "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "checkpoint": {"name": release.file_name, "url": url, "release_sha256": release_sha256,
                       "installed_sha256": _sha256(checkpoint),
                       "bytes": checkpoint.stat().st_size},
        "hub_files": files,
        "config_changes": "config.json: id2label/label2id set to the checkpoint's classes, "
                          "architectures to its model class; the checkpoint's base-model field "
                          "points at hf/",
    }
    (assembling / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if directory.exists():  # an earlier, damaged copy of the same release
        shutil.rmtree(directory)
    os.replace(assembling, directory)
    return FetchedModel(directory, directory / release.file_name, directory / "hf",
                        release_sha256, reused=False)


def _point_checkpoint_at(checkpoint: Path, hf_dir: Path, release: OfficialRelease) -> list[str]:
    """Read the verified checkpoint as data, point its base-model field at `hf_dir`."""
    import torch

    from .detoxify import CheckpointRefusedError, checkpoint_read

    try:
        loaded = checkpoint_read(checkpoint)
    except CheckpointRefusedError as exc:
        raise DownloadError(str(exc)) from None
    args = loaded["config"]["arch"]["args"]
    if args["model_type"] != release.base_model:
        raise DownloadError(f"{checkpoint.name}: its base model is {args['model_type']!r}, "
                            f"not {release.base_model!r} as detoxify publishes it")
    args["model_type"] = str(hf_dir)
    temp = checkpoint.with_suffix(".tmp")
    torch.save(loaded, temp)
    os.replace(temp, checkpoint)
    return [*loaded["config"]["dataset"]["args"]["classes"], args["model_name"]]


def _config_labels_set(config_file: Path, classes_and_model: list[str], checkpoint: Path) -> None:
    *classes, model_name = classes_and_model
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DownloadError(f"{config_file.name} from the hub is not JSON ({exc})") from None
    labels = [CLASS_RENAMES.get(name, name) for name in classes]
    config["id2label"] = {str(i): label for i, label in enumerate(labels)}
    config["label2id"] = {label: i for i, label in enumerate(labels)}
    config["architectures"] = [model_name]
    config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
