"""The moderator dashboard, mounted at the site root by config/urls.py."""

from django.urls import path

from . import author_views, band_views, thread_table_views, views

app_name = "moderation"

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/<slug:tab>/", views.queue_view, name="queue"),
    path("queue/<slug:tab>/new/", views.queue_new, name="queue_new"),
    path("threads/<int:thread_id>/", views.thread_view, name="thread"),
    path("authors/<int:author_id>/", views.author_view, name="author"),
    path("comments/<int:comment_id>/context/", views.comment_context, name="comment_context"),
    path("comments/<int:comment_id>/body/", views.comment_body, name="comment_body"),
    path("comments/<int:comment_id>/why/", views.comment_why, name="comment_why"),
    path("comments/<int:comment_id>/history/", views.comment_history, name="comment_history"),
    path("me/decisions/", views.my_decisions, name="my_decisions"),
    path("me/settings/", views.my_settings, name="my_settings"),
    path("me/density/", views.my_density, name="my_density"),
    path("models/", views.models_view, name="models"),
    path("act/", views.act, name="act"),
    path("undo/", views.undo, name="undo"),
    path("branch-jobs/<int:job_id>/", views.branch_job, name="branch_job"),
    path("branch-jobs/<int:job_id>/undo/", views.branch_job_undo, name="branch_job_undo"),
    # Batch by score band, authors' standing, the threads table.
    path("queue/<slug:tab>/band/", band_views.band_panel, name="band_panel"),
    path("queue/<slug:tab>/band/summary/", band_views.band_summary, name="band_summary"),
    path("band/act/", band_views.band_act, name="band_act"),
    path("authors/<int:author_id>/act/", author_views.author_act, name="author_act"),
    path("threads/", thread_table_views.threads_table, name="threads_table"),
]
