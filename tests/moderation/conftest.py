import pytest

from tests.factories import CommentFactory, ModeratorFactory, StaffFactory


@pytest.fixture
def comment(db):
    return CommentFactory()


@pytest.fixture
def moderator(db):
    return ModeratorFactory()


@pytest.fixture
def staff(db):
    """Signed-in staff who can view comments in admin but may not moderate."""
    from django.contrib.auth.models import Permission

    user = StaffFactory()
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_comment", "view_thread", "view_decision"])
    )
    return user
