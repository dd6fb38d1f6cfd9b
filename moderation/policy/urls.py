"""The policy pages, mounted at /policy/ by config/urls.py."""

from django.urls import path

from . import views

app_name = "policy"

urlpatterns = [
    path("", views.policy_index, name="index"),
    path("rules/new/", views.rule_edit, name="rule_new"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule"),
    path("words/new/", views.words_edit, name="words_new"),
    path("words/<int:list_id>/", views.words_edit, name="words"),
    path("reapply/", views.reapply, name="reapply"),
    path("changes/", views.changes, name="changes"),
]
