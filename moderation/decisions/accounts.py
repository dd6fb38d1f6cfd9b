"""Services for moderator accounts: the Moderators group and who is in it.

The group is created by migration 0002; `moderators_group_ensure` repeats that
after every `migrate` (post_migrate) because a database flush — what
TransactionTestCase does between tests, and what `manage.py flush` does —
empties auth_group but re-runs only post_migrate handlers, not data
migrations.
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.db import transaction

MODERATORS_GROUP = "Moderators"
MODERATE_PERMISSION = "moderation.moderate_comment"

# app_label.codename: moderating, plus reading what moderating needs in admin.
MODERATOR_PERMISSIONS = (
    "moderation.moderate_comment",
    "moderation.view_decision",
    "moderation.view_toxicityscore",
    "threads.view_thread",
    "threads.view_comment",
    "threads.view_author",
)


def moderators_group_ensure() -> Group:
    """Create the Moderators group if missing and give it any permission it lacks.

    Never removes a permission an administrator added to the group.
    """
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    wanted = []
    for dotted in MODERATOR_PERMISSIONS:
        app_label, codename = dotted.split(".")
        wanted.extend(
            Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        )
    group.permissions.add(*wanted)
    return group


def moderator_create(
    *, username: str, password: str | None = None, validate: bool = True
) -> tuple[AbstractBaseUser, str | None]:
    """Create or update a moderator: staff (for admin), in the Moderators group.

    With `password` None an existing user keeps theirs and a new user gets a
    generated one; the generated password is returned (once) so the caller
    can show it, else None. A given password is checked by the configured
    validators first (`validate=False` only for the DEBUG demo account).
    Raises django.core.exceptions.ValidationError on a weak password.
    """
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first()
        created = user is None
        if created:
            user = user_model(**{user_model.USERNAME_FIELD: username})
        generated = None
        if password is None and created:
            generated = password = secrets.token_urlsafe(18)
        if password is not None:
            if validate and generated is None:
                password_validation.validate_password(password, user)
            user.set_password(password)
        user.is_staff = True
        user.is_active = True
        user.save()
        user.groups.add(moderators_group_ensure())
    return user, generated
