"""Indexes for every queue order of the moderator dashboard (moderation/queue.py).

Each queue page is a keyset walk, ORDER BY (value, id) LIMIT page size, in
either direction, so each (tab, sort) needs an index that starts with the
tab's equality filter and ends with (value, id):

- needs review (state = pending AND needs_review), a small slice of all
  comments: partial indexes on (toxicity, id) and (created_at, id). They
  replace comment_queue (state, needs_review, toxicity), which lacked the id
  tie-break and any date order;
- flagged / hidden / approved (state = X): (state, toxicity, id) and
  (state, created_at, id);
- all: (toxicity, id) and (created_at, id).

"Most uncertain" walks the toxicity indexes up and down from the threshold.
"""

from django.db import migrations, models

REVIEW = models.Q(("needs_review", True), ("state", "pending"))


class Migration(migrations.Migration):
    dependencies = [
        ("threads", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="comment", name="comment_queue"),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(
                condition=REVIEW, fields=["toxicity", "id"], name="comment_review_toxicity"
            ),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(
                condition=REVIEW, fields=["created_at", "id"], name="comment_review_created"
            ),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(fields=["state", "toxicity", "id"], name="comment_state_toxicity"),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(fields=["state", "created_at", "id"], name="comment_state_created"),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(fields=["toxicity", "id"], name="comment_toxicity"),
        ),
        migrations.AddIndex(
            model_name="comment",
            index=models.Index(fields=["created_at", "id"], name="comment_created"),
        ),
    ]
