from django.urls import path

from . import views

app_name = "moderation_api"

urlpatterns = [
    path(
        "comments/<int:comment_id>/<slug:action>/",
        views.comment_action,
        name="comment-action",
    ),
]
