"""The queue and thread pages run a fixed number of queries, whatever their size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.helpers import import_threads, score_comment, thread_document
from threads.models import Comment, Thread

pytestmark = pytest.mark.django_db

# Session, user, permissions, tab counts, rows, scores, sources: a small constant.
# +2: the active model's row (which languages it reads) and the banner's count of
# comments in review in a language it does not read.
# +2: the authors' prior counts and standing on the cards (queue.attach_author_facts).
# Measured on the merged main (each one query per page, none per row; the branches each
# bumped their own copy of these numbers): the watched-word lists (policy), the Reported
# tab's count (events: reader reports) on both pages, the thread's count of comments in
# review for its keys (shift), less one the embedded merge saved on the queue.
QUEUE_MAX_QUERIES = 18
THREAD_MAX_QUERIES = 15


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_queue_queries_do_not_grow_with_page_size(moderator_client, tmp_path):
    bodies = [f"comment {i}" for i in range(60)]
    import_threads(tmp_path, [thread_document("q", bodies)])
    for i, comment in enumerate(Comment.objects.all()):
        score_comment(comment, 0.5 + (i % 50) / 100)
    url = reverse("moderation:queue", kwargs={"tab": "review"})
    # The first page a process serves also reads which model is active (for its
    # thresholds; kept 30 s, moderation/scoring/registry.py): not a per-row cost.
    count_queries(moderator_client, url)
    small = count_queries(moderator_client, url + "?size=10")
    large = count_queries(moderator_client, url + "?size=50")
    assert small == large <= QUEUE_MAX_QUERIES
    # The filtered and re-sorted forms too; "most uncertain" walks the index twice, up and
    # down from the threshold (queue.sort_spec): one query more, whatever the page size.
    assert count_queries(moderator_client, url + "?size=50&sort=newest&label=toxicity") \
        <= QUEUE_MAX_QUERIES
    uncertain = [count_queries(moderator_client, url + f"?size={size}&sort=uncertain")
                 for size in (10, 50)]
    assert uncertain[0] == uncertain[1] <= QUEUE_MAX_QUERIES + 1


def test_thread_queries_do_not_grow_with_thread_size(moderator_client, tmp_path):
    import_threads(tmp_path, [
        thread_document("small", [f"s{i}" for i in range(10)]),
        thread_document("big", [f"b{i}" for i in range(300)], nested=False),
    ])
    for comment in Comment.objects.all():
        score_comment(comment, 0.6)
    small = Thread.objects.get(external_id="small")
    big = Thread.objects.get(external_id="big")
    small_count = count_queries(moderator_client, reverse("moderation:thread",
                                                         kwargs={"thread_id": small.pk}))
    big_count = count_queries(moderator_client, reverse("moderation:thread",
                                                       kwargs={"thread_id": big.pk}))
    assert small_count == big_count <= THREAD_MAX_QUERIES
