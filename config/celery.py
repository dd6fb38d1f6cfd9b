"""The Celery app: `celery -A config worker` and `celery -A config beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("threadkeeper")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks live in feature packages, not in an app-level tasks.py.
app.autodiscover_tasks(["moderation.scoring", "moderation.decisions", "moderation.events"])
