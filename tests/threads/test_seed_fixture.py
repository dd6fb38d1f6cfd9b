"""The seed articles, imported through the real importer."""

from pathlib import Path

import pytest
from django.conf import settings

from threads.models import Comment, Thread
from threads.services import threads_import_from_file

pytestmark = pytest.mark.django_db

SEED_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "seed_threads.json"


def test_seed_fixture_imports_seventeen_articles_and_the_comment_tree():
    report = threads_import_from_file(path=SEED_FIXTURE)
    assert report.threads_new == 17 and not report.warnings
    per_file = {}
    for external_id in Thread.objects.values_list("external_id", flat=True):
        stem = external_id.rsplit("-", 1)[0]
        per_file[stem[:3]] = per_file.get(stem[:3], 0) + 1
    assert per_file == {"000": 1, "001": 3, "002": 1, "003": 12}
    commented = Thread.objects.get(external_id__startswith="000_")
    comments = Comment.objects.filter(thread=commented)
    assert comments.count() == 81
    replies = comments.filter(parent__isnull=False)
    assert replies.count() == 7 and all(c.depth >= 1 for c in replies)
    pillars = comments.get(body__startswith='" The primary pillars of Nazis')
    assert pillars.parent.body.startswith("Disagree.")
    assert Comment.objects.exclude(thread=commented).count() == 0
    assert threads_import_from_file(path=SEED_FIXTURE).comments_unchanged == 81
