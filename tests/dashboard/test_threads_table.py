"""The threads table (/threads/): counts by state, needs review, newest comment, last
moderated; sortable, filterable by source, a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from moderation.decisions.services import comment_action_apply
from tests.helpers import import_threads, score_comment, thread_document
from threads.models import Comment, Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def threads(tmp_path, moderator):
    import_threads(tmp_path, [thread_document("busy", ["a", "b", "c", "d"], title="Busy"),
                              thread_document("calm", ["e"], title="Calm"),
                              thread_document("old", ["f", "g"], title="Old")])
    for comment in Comment.objects.filter(thread__external_id="busy"):
        score_comment(comment, 0.9)
    comment_action_apply(comment=Comment.objects.get(external_id="old-0"), action="hide",
                         actor=moderator)
    Thread.objects.filter(external_id="calm").update(source="disqus")
    return {t.external_id: t for t in Thread.objects.all()}


def rows(client, **params) -> list[int]:
    html = client.get(reverse("moderation:threads_table"), params).content.decode()
    return [int(pk) for pk in re.findall(r'data-thread-row="(\d+)"', html)]


def test_sorts_and_source_filter(moderator_client, threads):
    busy, calm, old = threads["busy"], threads["calm"], threads["old"]
    assert rows(moderator_client)[0] == busy.pk  # most needing review first
    assert rows(moderator_client, sort="moderated") == [old.pk]  # only threads acted in
    assert rows(moderator_client, sort="title") == [busy.pk, calm.pk, old.pk]
    assert rows(moderator_client, source="disqus") == [calm.pk]
    assert set(rows(moderator_client, sort="newest_comment")) == {busy.pk, calm.pk, old.pk}


def test_row_shows_counts_and_links_to_the_threads_queue(moderator_client, threads):
    html = moderator_client.get(reverse("moderation:threads_table")).content.decode()
    busy = threads["busy"]
    row = html[html.index(f'data-thread-row="{busy.pk}"'):]
    row = row[: row.index("</tr>")]
    assert 'data-review="4"' in row and "pending 4" in row
    assert f"/queue/all/?thread={busy.pk}" in row and f"/threads/{busy.pk}/" in row
    old_row = html[html.index(f'data-thread-row="{threads["old"].pk}"'):]
    assert "hidden 1" in old_row[: old_row.index("</tr>")]
    assert "never" in row  # nobody acted in "busy"


def test_bad_parameters_are_a_400_naming_them(moderator_client, threads):
    response = moderator_client.get(reverse("moderation:threads_table"), {"sort": "bogus"})
    assert response.status_code == 400 and b"sort" in response.content
    response = moderator_client.get(reverse("moderation:threads_table"), {"page": "x"})
    assert response.status_code == 400 and b"page" in response.content


def test_queries_do_not_grow_with_the_number_of_threads(moderator_client, tmp_path, threads):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert moderator_client.get(reverse("moderation:threads_table")).status_code == 200
        return len(queries)

    few = count()
    import_threads(tmp_path, [thread_document(f"t{i}", ["x", "y"]) for i in range(30)],
                   name="more.json")
    assert count() == few
