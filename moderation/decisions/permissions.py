"""Who may moderate: one permission, `moderation.moderate_comment`.

Every moderation endpoint (the dashboard and the JSON API) is wrapped in
`moderator_required` or uses `ModeratorRequiredMixin`: anonymous visitors go to
the login page (or get 403 from API endpoints, which a browser does not
navigate to), signed-in users without the permission get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.mixins import AccessMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .accounts import MODERATE_PERMISSION

View = Callable[..., HttpResponse]


def is_moderator(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(MODERATE_PERMISSION))


def moderator_required(view: View | None = None, *, redirect_anonymous: bool = True):
    """Decorator: `@moderator_required` or `@moderator_required(redirect_anonymous=False)`."""

    def decorate(func: View) -> View:
        @wraps(func)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.headers.get("HX-Request") == "true":
                    # A page's background request after the session ended: a
                    # redirect would be followed and its login page swapped
                    # into nothing; say so, and let the page show it.
                    return HttpResponse(
                        "Your session has ended: nothing was done. Sign in again "
                        "(reload the page), then repeat the action.",
                        status=401, content_type="text/plain; charset=utf-8",
                    )
                if redirect_anonymous:
                    return redirect_to_login(request.get_full_path())
                raise PermissionDenied("sign in as a moderator")
            if not request.user.has_perm(MODERATE_PERMISSION):
                raise PermissionDenied("you are not a moderator")
            return func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


class ModeratorRequiredMixin(AccessMixin):
    """Class-based views: the same rule as `moderator_required`."""

    raise_exception = False  # anonymous -> login page; True -> 403 for them too

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not request.user.has_perm(MODERATE_PERMISSION):
            raise PermissionDenied("you are not a moderator")
        return super().dispatch(request, *args, **kwargs)
