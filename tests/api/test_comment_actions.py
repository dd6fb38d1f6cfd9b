"""The JSON action API: who may call it, what each refusal answers, one spelling per action."""

import pytest
from django.urls import reverse

from moderation.decisions.services import branch_job_run
from moderation.models import BranchHideJob, Decision
from tests.helpers import CommentFactory
from threads.models import Comment

pytestmark = pytest.mark.django_db


def url(comment, action="hide"):
    return reverse("moderation_api:comment-action", args=[comment.pk, action])


@pytest.mark.parametrize("method", ["get", "post"])
def test_api_refuses_anonymous_and_non_moderators(client, comment, staff, method):
    assert getattr(client, method)(url(comment)).status_code == 403
    client.force_login(staff)
    assert getattr(client, method)(url(comment)).status_code == 403
    assert not Decision.objects.exists()
    assert Comment.objects.get(pk=comment.pk).state == Comment.State.PENDING


def test_api_moderator_acts(client, comment, moderator):
    client.force_login(moderator)
    response = client.post(url(comment), {"reason": "spam", "note": "n", "expected_version": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["version"]) == ("hidden", 2)
    assert body["decisions"][0]["reason"] == "spam"
    decision = Decision.objects.get()
    assert (decision.actor, decision.note) == (moderator, "n")


def test_api_status_codes_for_refusals(client, comment, moderator):
    client.force_login(moderator)
    client.post(url(comment), {"expected_version": 1})
    stale = client.post(url(comment, "approve"), {"expected_version": 1})
    assert stale.status_code == 409
    assert f"{moderator.username} hide it" in stale.json()["error"]["message"]
    assert stale.json()["error"]["acted_by"] == moderator.username
    illegal = client.post(url(comment, "flag"), {"expected_version": 2})
    assert illegal.status_code == 400 and "cannot flag" in illegal.json()["error"]["message"]
    assert client.post(url(comment, "approve"), {"expected_version": "two"}).status_code == 400
    assert client.post(url(comment, "restore"), {"reason": "rude"}).status_code == 400
    assert client.post(url(comment, "delete")).status_code == 404
    missing = reverse("moderation_api:comment-action", args=[999_999, "hide"])
    assert client.post(missing).status_code == 404
    assert client.get(url(comment, "restore")).status_code == 405
    assert Decision.objects.count() == 1


def test_api_branch_hide(client, moderator):
    root = CommentFactory()
    CommentFactory(parent=root)
    client.force_login(moderator)
    response = client.post(url(root, "hide_branch"), {"reason": "threat", "expected_version": 1})
    assert response.status_code == 200
    assert len(response.json()["decisions"]) == 2


def test_api_bad_version_is_a_400_naming_the_parameter(client, comment, moderator):
    client.force_login(moderator)
    for bad in ("²", "-1", "1.5"):
        response = client.post(url(comment), {"expected_version": bad})
        assert response.status_code == 400
        assert response.json()["error"]["field"] == "expected_version"
    assert not Decision.objects.exists()


def test_api_and_dashboard_spell_branch_hide_the_same(client, moderator):
    root = CommentFactory()
    client.force_login(moderator)
    assert client.post(url(root, "branch-hide")).status_code == 404
    assert client.post(url(root, "hide_branch")).status_code == 200


def test_api_big_branch_hide_is_202_with_a_job_to_poll(client, settings, moderator, big_branch):
    settings.BRANCH_HIDE_SYNC_MAX = 100
    root, ids, outside = big_branch
    client.force_login(moderator)
    response = client.post(url(root, "hide_branch"), {"reason": "spam", "expected_version": 1})
    assert response.status_code == 202
    body = response.json()
    job = body["job"]
    assert (body["state"], body["version"], body["decisions"]) == ("hidden", 2, [])
    assert (job["state"], job["total"], job["done"], job["comment"]) == ("queued", 1200, 1,
                                                                          root.pk)
    assert response["Location"] == job["url"] == f"/moderation/api/branch-jobs/{job['id']}/"
    assert Decision.objects.count() == 1

    branch_job_run(job_id=job["id"])
    polled = client.get(job["url"]).json()
    assert (polled["state"], polled["done"], polled["changed"]) == ("done", 1200, 1200)
    assert polled["finished_at"] is not None
    assert client.get("/moderation/api/branch-jobs/999999/").status_code == 404


def test_api_branch_job_is_for_moderators_only(client, staff, moderator, comment):
    job = BranchHideJob.objects.create(root=comment, actor=moderator)
    job_url = reverse("moderation_api:branch-job", args=[job.pk])
    assert client.get(job_url).status_code == 403
    client.force_login(staff)
    assert client.get(job_url).status_code == 403
    client.force_login(moderator)
    assert client.post(job_url).status_code == 405
