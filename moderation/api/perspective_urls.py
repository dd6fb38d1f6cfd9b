"""Mounted at /perspective/v1alpha1/ by config/urls.py (Perspective's own paths)."""

from django.urls import path

from . import perspective

app_name = "perspective"

urlpatterns = [
    path("comments:analyze", perspective.analyze, name="analyze"),
    path("comments:suggestscore", perspective.suggest_score, name="suggestscore"),
]
