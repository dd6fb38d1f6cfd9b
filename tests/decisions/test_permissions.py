"""Who may moderate: the group, the command, the decorator and the mixin."""

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from moderation.decisions.accounts import MODERATE_PERMISSION, moderator_create
from moderation.decisions.permissions import moderator_required
from tests.helpers import UserFactory

pytestmark = pytest.mark.django_db


def test_migration_creates_the_moderators_group():
    group = Group.objects.get(name="Moderators")
    perms = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
    assert {MODERATE_PERMISSION, "moderation.view_decision", "moderation.view_toxicityscore",
            "threads.view_thread", "threads.view_comment"} <= perms
    assert not any(p.startswith(("threads.change", "moderation.change")) for p in perms)


def test_moderator_factory_user_has_the_permission(moderator, staff):
    assert moderator.has_perm(MODERATE_PERMISSION)
    assert not staff.has_perm(MODERATE_PERMISSION)


# The named "login" URL arrives with the dashboard; a path keeps this test independent.
@override_settings(LOGIN_URL="/accounts/login/")
def test_decorator_redirects_anonymous_and_forbids_non_moderators(staff, moderator):
    @moderator_required
    def view(request):
        return HttpResponse("ok")

    request = RequestFactory().get("/moderation/queue/")
    request.user = AnonymousUser()
    response = view(request)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/moderation/queue/"
    request.user = staff
    with pytest.raises(PermissionDenied):
        view(request)
    request.user = moderator
    assert view(request).content == b"ok"


def test_create_moderator_generates_a_password_once():
    out = io.StringIO()
    call_command("create_moderator", "carol", stdout=out)
    password = out.getvalue().split("shown once): ")[1].strip()
    user = authenticate(username="carol", password=password)
    assert user is not None and user.is_staff
    assert user.has_perm(MODERATE_PERMISSION)
    again = io.StringIO()
    call_command("create_moderator", "carol", stdout=again)
    assert "Existing password kept" in again.getvalue()
    assert authenticate(username="carol", password=password) is not None


def test_create_moderator_password_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("weak\n"))
    with pytest.raises(CommandError, match="password refused: .*too short"):
        call_command("create_moderator", "dave", "--password-stdin", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="dave").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO("a long and unusual passphrase 42\n"))
    call_command("create_moderator", "dave", "--password-stdin", stdout=io.StringIO())
    assert authenticate(username="dave", password="a long and unusual passphrase 42")


def test_create_moderator_promotes_an_existing_user():
    user = UserFactory(username="erin")
    assert not user.has_perm(MODERATE_PERMISSION)
    moderator_create(username="erin")
    user = get_user_model().objects.get(pk=user.pk)
    assert user.is_staff and user.has_perm(MODERATE_PERMISSION)


@override_settings(LOGIN_URL="/accounts/login/")
def test_mixin_applies_the_same_rule(staff, moderator):
    from django.views import View

    from moderation.decisions.permissions import ModeratorRequiredMixin

    class Queue(ModeratorRequiredMixin, View):
        def get(self, request):
            return HttpResponse("queue")

    view = Queue.as_view()
    request = RequestFactory().get("/queue/")
    request.user = AnonymousUser()
    assert view(request)["Location"] == "/accounts/login/?next=/queue/"
    request.user = staff
    with pytest.raises(PermissionDenied):
        view(request)
    request.user = moderator
    assert view(request).content == b"queue"
