from django.dispatch import Signal

# Sent inside the importing transaction with `comment_ids`: comments created or
# whose text changed. Receivers that enqueue work should do so on commit.
comments_changed = Signal()
