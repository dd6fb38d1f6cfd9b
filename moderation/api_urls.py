from django.urls import path

from . import api

app_name = "moderation_api"

urlpatterns = [
    path(
        "comments/<int:comment_id>/<slug:action>/",
        api.comment_action,
        name="comment-action",
    ),
]
