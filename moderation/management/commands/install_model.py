"""Install a detoxify checkpoint and make it active: a local pair, or the official one.

`--official TYPE` downloads detoxify's published checkpoint of that type and
its base model's config and tokenizer (moderation/scoring/official.py:
resumable, verified, assembled atomically under MODELS_DIR), then installs
that pair exactly as `--checkpoint FILE --hf-config DIR` installs a local one.

detoxify always asks the Hugging Face hub for the base model's config (the
checkpoint's `arch.args.model_type`, e.g. "bert-base-uncased"), even when given
a local config directory. This command points that field at the local
directory (rewriting the checkpoint atomically), checks the pair loads through
detoxify with no network and scores a sentence, records the checksum and
stores the model as the active one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from moderation.models import ActiveModel
from moderation.scoring.detoxify import (
    MODEL_TYPES,
    CheckpointRefusedError,
    DetoxifyOptions,
    checkpoint_read,
    checkpoint_verify,
    file_sha256,
)
from moderation.scoring.official import DownloadError, official_model_fetch
from moderation.scoring.registry import reset_active_scorer

TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "sentencepiece.bpe.model", "spiece.model",
                   "vocab.json")


class Command(BaseCommand):
    help = ("Download the official detoxify model (--official TYPE), or validate a local "
            "checkpoint + Hugging Face config directory, and make it active.")

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--official", choices=MODEL_TYPES, metavar="TYPE",
                            help=f"download detoxify's published model: {', '.join(MODEL_TYPES)}")
        source.add_argument("--checkpoint", metavar="FILE")
        parser.add_argument("--hf-config", metavar="DIR",
                            help="directory with config.json and the tokenizer files")
        parser.add_argument("--model-type", default="original", choices=MODEL_TYPES)
        parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                            help="--official: the longest any one network wait may take "
                            "(default MODEL_DOWNLOAD_TIMEOUT)")
        parser.add_argument("--max-seconds", type=float, default=None, metavar="SECONDS",
                            help="--official: stop the download after this long (a rerun "
                            "resumes it)")
        parser.add_argument("--replace", action="store_true",
                            help="the installed checkpoint file was replaced on purpose: "
                            "accept its new sha256")

    def handle(self, *args, **options) -> None:
        if options["official"]:
            if options["hf_config"]:
                raise CommandError("--official downloads its own config; leave out --hf-config")
            options["model_type"] = options["official"]
            options["checkpoint"], options["hf_config"] = self._download(options)
        elif not options["hf_config"]:
            raise CommandError("--checkpoint needs --hf-config DIR")
        checkpoint = Path(options["checkpoint"]).resolve()
        hf_dir = Path(options["hf_config"]).resolve()
        installed = ActiveModel.objects.filter(pk=1, checkpoint=str(checkpoint)).first()
        if installed is not None and checkpoint.is_file() and not options["replace"]:
            # Re-running on the installed file must not quietly bless a swapped one.
            try:
                checkpoint_verify(checkpoint, installed.checksum)
            except CheckpointRefusedError as exc:
                raise CommandError(str(exc)) from None
        loaded = self._read_checkpoint(checkpoint)
        classes = self._check_pair(checkpoint, loaded, hf_dir)

        args = loaded["config"]["arch"]["args"]
        if args.get("model_type") != str(hf_dir):
            self.stdout.write(f"{checkpoint}: base model {args.get('model_type')!r} -> {hf_dir}")
            args["model_type"] = str(hf_dir)
            self._write_atomically(checkpoint, loaded)
        del loaded

        checksum = file_sha256(checkpoint)
        options_ = DetoxifyOptions(model_type=options["model_type"], checkpoint=str(checkpoint),
                                   hf_config=str(hf_dir), checksum=checksum)
        self._trial(options_)
        ActiveModel.objects.update_or_create(
            pk=1,
            defaults={"model_type": options["model_type"], "checkpoint": str(checkpoint),
                      "hf_config": str(hf_dir), "checksum": checksum},
        )
        reset_active_scorer()
        self.stdout.write(self.style.SUCCESS(
            f"active model: detoxify:{options['model_type']}:{checksum[:12]} "
            f"({len(classes)} labels: {', '.join(classes)}); sha256 {checksum}"
        ))
        self.stdout.write("Re-score with: python manage.py rescore --unscored")

    def _download(self, options: dict) -> tuple[str, str]:
        model_type = options["official"]
        shown = {"at": -1}

        def progress(done: int, total: int | None) -> None:
            tenth = done * 10 // total if total else done >> 27  # 128 MiB steps
            if tenth != shown["at"] and options["verbosity"] >= 1:
                shown["at"] = tenth
                size = f"{done / 1e6:.0f}" + (f" of {total / 1e6:.0f}" if total else "")
                self.stderr.write(f"  {size} MB")

        try:
            fetched = official_model_fetch(model_type, timeout=options["timeout"],
                                           max_seconds=options["max_seconds"],
                                           progress=progress)
        except DownloadError as exc:
            raise CommandError(f"official {model_type} model: {exc}") from None
        verb = "already downloaded" if fetched.reused else "downloaded and verified"
        self.stdout.write(f"official {model_type} model {verb}: {fetched.directory} "
                          f"(release sha256 {fetched.release_sha256})")
        return str(fetched.checkpoint), str(fetched.hf_config)

    @staticmethod
    def _read_checkpoint(path: Path) -> dict:
        if not path.is_file():
            raise CommandError(f"{path}: no such checkpoint file")
        try:
            return checkpoint_read(path)
        except CheckpointRefusedError as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def _check_pair(path: Path, loaded: dict, hf_dir: Path) -> list[str]:
        config_file = hf_dir / "config.json"
        if not config_file.is_file():
            raise CommandError(f"{config_file}: missing (the Hugging Face config.json)")
        if not any((hf_dir / name).is_file() for name in TOKENIZER_FILES):
            raise CommandError(f"{hf_dir}: no tokenizer files ({', '.join(TOKENIZER_FILES)})")
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{config_file}: not valid JSON ({exc})") from None
        classes = list(loaded["config"]["dataset"]["args"]["classes"])
        labels = config.get("id2label") or {}
        num_labels = len(labels) if labels else config.get("num_labels", 2)
        if num_labels != len(classes):
            raise CommandError(
                f"{config_file}: id2label has {num_labels} label(s) but {path} was trained on "
                f"{len(classes)} ({', '.join(classes)}); set id2label to those classes"
            )
        arch = loaded["config"]["arch"]["args"]["model_name"]
        if config.get("architectures") and arch not in config["architectures"]:
            raise CommandError(
                f"{config_file}: architectures {config['architectures']} do not include the "
                f"checkpoint's {arch}"
            )
        return classes

    @staticmethod
    def _write_atomically(path: Path, loaded: dict) -> None:
        import torch

        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        os.close(handle)
        try:
            torch.save(loaded, temp)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _trial(options: DetoxifyOptions) -> None:
        from moderation.scoring.detoxify import DetoxifyScorer

        # The base-model field now names the local directory and detoxify passes
        # local_files_only with it: a pair that would need the hub fails here.
        try:
            scorer = DetoxifyScorer(options)
            result = scorer.score(["Thank you for the article.", ""])
        except Exception as exc:
            raise CommandError(
                f"{options.checkpoint} with {options.hf_config}: detoxify could not load or "
                f"run it offline ({type(exc).__name__}: {exc})"
            ) from None
        if len(result) != 2 or not all(0.0 <= v <= 1.0 for row in result for v in row.values()):
            raise CommandError(f"{options.checkpoint}: the trial scores are not probabilities")
