"""Dates on every dashboard page in the signed-in moderator's time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .preferences import session_preferences


class ModeratorTimeZoneMiddleware:
    """Activates the moderator's zone (their preference, else DASHBOARD_TIME_ZONE).

    Templates format every date with the `when` filter, which shows the zone's
    abbreviation: "1 Dec 2026, 14:02 CET".
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(zoneinfo.ZoneInfo(session_preferences(request).time_zone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
