"""What "undo" will take back: the moderator's last action, kept in the session.

One rule for the undo bar on every page and after every response: Undo is
offered while the session holds something to undo, and an action that
changed nothing leaves it as it was.
"""

from __future__ import annotations

# The ids of the decisions the moderator's last action made, which "undo"
# reverses (each with a new decision).
LAST_BATCH = "moderation_last_batch"
# And the background branch hides it started (undone as a whole, once finished).
LAST_JOBS = "moderation_last_branch_jobs"
# What the last action did, in words ("Hid 29 comments (the branch).").
LAST_LABEL = "moderation_last_label"


def undo_offer(session) -> str | None:
    """The undo bar's label while there is something to undo, else None."""
    if session.get(LAST_BATCH) or session.get(LAST_JOBS):
        return session.get(LAST_LABEL) or "Undo your last action"
    return None
