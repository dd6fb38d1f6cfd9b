"""The reports, mounted at /reports/ by config/urls.py."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("model/", views.model_view, name="model"),
    path("queue/", views.queue_view, name="queue"),
]
