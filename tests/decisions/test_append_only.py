"""Decisions are never updated or deleted: refused by the model, admin and database."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from moderation.decisions import services
from moderation.models import AppendOnlyError, Decision
from tests.helpers import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def decision(comment, moderator):
    return services.comment_action_apply(action="hide", comment=comment, actor=moderator,
                                         note="original")


def test_model_refuses_update_and_delete(decision):
    decision.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        decision.save()
    with pytest.raises(AppendOnlyError):
        decision.delete()
    with pytest.raises(AppendOnlyError):
        Decision.objects.filter(pk=decision.pk).update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        Decision.objects.filter(pk=decision.pk).delete()
    # bulk_update opens an atomic block without a savepoint: give it one.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        Decision.objects.bulk_update([decision], ["note"])
    assert Decision.objects.get(pk=decision.pk).note == "original"


def test_admin_refuses_change_and_delete_even_for_superusers(client, decision):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    change = reverse("admin:moderation_decision_change", args=[decision.pk])
    page = client.get(change)
    assert page.status_code == 200  # viewable ...
    assert b'name="_save"' not in page.content  # ... but not editable
    client.post(change, {"note": "rewritten"})
    delete = reverse("admin:moderation_decision_delete", args=[decision.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:moderation_decision_add")).status_code == 403
    changelist = client.get(reverse("admin:moderation_decision_changelist"))
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "export_csv" in actions and "delete_selected" not in actions
    assert Decision.objects.get(pk=decision.pk).note == "original"


def test_database_refuses_update(decision):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE moderation_decision SET note = 'rewritten'")
    assert Decision.objects.get(pk=decision.pk).note == "original"


def test_database_refuses_delete(decision):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no DELETE trigger: Django empties SQLite tables with DELETE "
                    "(flush); see migration 0003")
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM moderation_decision")
    assert Decision.objects.filter(pk=decision.pk).exists()


def test_comment_with_decisions_cannot_be_deleted(comment, decision):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        comment.delete()
