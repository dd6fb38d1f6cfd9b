from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("moderation/api/", include("moderation.api.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("policy/", include("moderation.policy.urls")),
    path("reports/", include("moderation.reports.urls")),
    path("", include("moderation.dashboard.urls")),
]
