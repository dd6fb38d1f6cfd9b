from django.urls import path

from . import views

app_name = "moderation_api"

urlpatterns = [
    path(
        "comments/<int:comment_id>/<slug:action>/",
        views.comment_action,
        name="comment-action",
    ),
    path("branch-jobs/<int:job_id>/", views.branch_job, name="branch-job"),
]
