"""Who may change the policy: `moderation.manage_policy` (moderators may read the reports)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

MANAGE_POLICY_PERMISSION = "moderation.manage_policy"


def can_manage_policy(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(MANAGE_POLICY_PERMISSION))


def policy_manager_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors go to the login page; users without the permission get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.has_perm(MANAGE_POLICY_PERMISSION):
            raise PermissionDenied("changing the policy needs the manage_policy permission")
        return view(request, *args, **kwargs)

    return wrapper
