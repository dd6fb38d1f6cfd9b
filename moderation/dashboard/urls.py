"""The moderator dashboard, mounted at the site root by config/urls.py."""

from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/<slug:tab>/", views.queue_view, name="queue"),
    path("queue/<slug:tab>/new/", views.queue_new, name="queue_new"),
    path("threads/<int:thread_id>/", views.thread_view, name="thread"),
    path("authors/<int:author_id>/", views.author_view, name="author"),
    path("comments/<int:comment_id>/context/", views.comment_context, name="comment_context"),
    path("comments/<int:comment_id>/body/", views.comment_body, name="comment_body"),
    path("comments/<int:comment_id>/history/", views.comment_history, name="comment_history"),
    path("me/decisions/", views.my_decisions, name="my_decisions"),
    path("models/", views.models_view, name="models"),
    path("act/", views.act, name="act"),
    path("undo/", views.undo, name="undo"),
    path("branch-jobs/<int:job_id>/", views.branch_job, name="branch_job"),
    path("branch-jobs/<int:job_id>/undo/", views.branch_job_undo, name="branch_job_undo"),
]
