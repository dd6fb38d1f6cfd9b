"""The comment insert follows the model: a field added to Comment gets its value on import.

The fields are added to the model and its table for the test only (as a
migration would), so an insert that lists its columns by hand, or ignores
a field's `default` or `db_default`, fails here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models.functions import Length

from threads.models import Comment
from threads.services import threads_import_from_file


@contextmanager
def fields_added(model: type[models.Model], **fields: models.Field) -> Iterator[None]:
    for name, field in fields.items():
        field.contribute_to_class(model, name)
    model._meta._expire_cache()
    try:
        with connection.schema_editor() as editor:
            for field in fields.values():
                editor.add_field(model, field)
        yield
    finally:
        with connection.schema_editor() as editor:
            for field in fields.values():
                editor.remove_field(model, field)
        for field in fields.values():
            model._meta.local_fields.remove(field)
            delattr(model, field.attname)
        model._meta._expire_cache()
        apps.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_fields_added_to_comment_get_their_defaults_on_import(tmp_path):
    path = tmp_path / "thread.json"
    path.write_text(json.dumps({"threads": [{
        "source": "site", "external_id": "t", "title": "T",
        "comments": [
            {"external_id": "1", "body": "first"},
            {"external_id": "2", "parent_id": "1", "body": "reply"},
        ],
    }]}), encoding="utf-8")
    with fields_added(
        Comment,
        test_origin=models.CharField(max_length=20, default="from-default"),
        test_region=models.CharField(max_length=20, db_default="from-db-default"),
        test_weight=models.IntegerField(db_default=models.Value(7)),
        test_token=models.CharField(max_length=36, default=lambda: str(uuid.uuid4())),
    ):
        report = threads_import_from_file(path=path)
        assert report.comments_new == 2
        rows = Comment.objects.order_by("external_id").values_list(
            "external_id", "test_origin", "test_region", "test_weight"
        )
        assert list(rows) == [
            ("1", "from-default", "from-db-default", 7),
            ("2", "from-default", "from-db-default", 7),
        ]
        # A callable default is called for each comment, not once for all.
        tokens = set(Comment.objects.values_list("test_token", flat=True))
        assert len(tokens) == 2 and "" not in tokens
    assert "test_origin" not in {f.name for f in Comment._meta.get_fields()}


@pytest.mark.django_db(transaction=True)
def test_generated_field_added_to_comment_is_left_to_the_database_on_import(tmp_path):
    path = tmp_path / "thread.json"
    path.write_text(json.dumps({"threads": [{
        "source": "site", "external_id": "t", "title": "T",
        "comments": [{"external_id": "1", "body": "first"}],
    }]}), encoding="utf-8")
    with fields_added(
        Comment,
        test_body_length=models.GeneratedField(
            expression=Length("body"), output_field=models.IntegerField(), db_persist=True
        ),
    ):
        report = threads_import_from_file(path=path)
        assert report.comments_new == 1
        assert list(Comment.objects.values_list("test_body_length", flat=True)) == [5]
