"""Each moderator's dashboard preferences: queue density and time zone.

Read once per session (the middleware keeps them in the session), written by
`preferences_update` from the settings page and the density switch.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from moderation.models import ModeratorPreferences

SESSION_KEY = "moderation_preferences"
Density = ModeratorPreferences.Density


@dataclass(frozen=True)
class Preferences:
    density: str
    time_zone: str  # always a valid zone name (the default when none is chosen)


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted (the settings page's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def default_time_zone() -> str:
    return settings.DASHBOARD_TIME_ZONE or settings.TIME_ZONE


def preferences_get(*, user: AbstractBaseUser) -> Preferences:
    row = ModeratorPreferences.objects.filter(user_id=user.pk).first()
    if row is None:
        return Preferences(Density.CARDS, default_time_zone())
    zone = row.time_zone if row.time_zone in time_zone_names() else default_time_zone()
    return Preferences(row.density, zone)


def preferences_update(*, user: AbstractBaseUser, density: str | None = None,
                       time_zone: str | None = None) -> Preferences:
    """Save what is given (validated by the caller's Form); returns the preferences now."""
    row, _ = ModeratorPreferences.objects.get_or_create(user_id=user.pk)
    if density is not None:
        row.density = density
    if time_zone is not None:
        row.time_zone = "" if time_zone == default_time_zone() else time_zone
    row.save()
    return preferences_get(user=user)


def session_preferences(request) -> Preferences:
    """The signed-in moderator's preferences, from the session (read once per session)."""
    stored = request.session.get(SESSION_KEY)
    if isinstance(stored, list) and len(stored) == 2:
        return Preferences(*stored)
    prefs = preferences_get(user=request.user)
    request.session[SESSION_KEY] = [prefs.density, prefs.time_zone]
    return prefs


def session_preferences_store(request, prefs: Preferences) -> None:
    request.session[SESSION_KEY] = [prefs.density, prefs.time_zone]


def preferences_load_on_login(sender, request, user, **kwargs) -> None:
    """user_logged_in: the preferences go into the new session at once (no read per page)."""
    if request is not None and hasattr(request, "session"):
        session_preferences_store(request, preferences_get(user=user))
