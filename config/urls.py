from django.contrib import admin
from django.urls import include, path, re_path

from moderation.api import perspective as perspective_views
from moderation.api.v1 import api as api_v1
from moderation.api.v1 import not_found as api_v1_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("moderation/api/", include("moderation.api.urls")),
    path("api/v1/", api_v1.urls),
    re_path(r"^api/v1/(?P<rest>.*)$", api_v1_not_found),
    path("perspective/v1alpha1/", include("moderation.api.perspective_urls")),
    path("perspective/$discovery/rest", perspective_views.discovery, name="perspective-discovery"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("policy/", include("moderation.policy.urls")),
    path("reports/", include("moderation.reports.urls")),
    path("", include("moderation.dashboard.urls")),
]
