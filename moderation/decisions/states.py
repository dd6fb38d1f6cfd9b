"""The moderation state machine: which action takes a comment from which state to which.

The one place the transitions and the moderator-facing action names are
written; the services enforce them, the forms accept exactly these names.
"""

from __future__ import annotations

from moderation.models import Action
from threads.models import Comment

State = Comment.State

# Legal transitions. DESIGN.md lists pending -> approved | flagged | hidden,
# flagged -> approved | hidden and hidden -> approved. We also let a moderator
# flag or hide an *approved* comment: a comment approved this morning can be
# reported this afternoon, and "approved" must not make it untouchable.
TRANSITIONS: dict[str, dict[str, str]] = {
    Action.APPROVE: {State.PENDING: State.APPROVED, State.FLAGGED: State.APPROVED},
    Action.FLAG: {State.PENDING: State.FLAGGED, State.APPROVED: State.FLAGGED},
    Action.HIDE: {
        State.PENDING: State.HIDDEN,
        State.FLAGGED: State.HIDDEN,
        State.APPROVED: State.HIDDEN,
    },
    Action.RESTORE: {State.HIDDEN: State.APPROVED},
}

# Hide a comment and every reply under it (one Decision per comment, each a "hide").
HIDE_BRANCH = "hide_branch"

# What a moderator may ask for, spelled the same in the dashboard, the API and admin.
MODERATOR_ACTIONS: dict[str, str] = {
    Action.APPROVE: "Approve",
    Action.FLAG: "Flag",
    Action.HIDE: "Hide",
    Action.RESTORE: "Restore",
    HIDE_BRANCH: "Hide branch",
}

# Actions that carry a reason; approving "for harassment" would be noise.
REASONED_ACTIONS = (Action.FLAG, Action.HIDE, HIDE_BRANCH)

# What a moderator can take back with comment_undo (an undo can be undone too).
UNDOABLE = (Action.APPROVE, Action.FLAG, Action.HIDE, Action.RESTORE, Action.UNDO)

# --- API (issue 15): what the site shows --------------------------------------------

# `source_state` of a comment its author deleted on the site (the API's DELETE).
AUTHOR_DELETED = "deleted-by-author"
# Actions that would show an author-deleted comment again: refused.
SHOWING_ACTIONS = (Action.APPROVE, Action.RESTORE)


def is_visible(state: str, *, premoderated: bool) -> bool:
    """Whether the site shows a comment in this state.

    Post-moderation: everything but hidden (a flagged comment stays up while
    someone looks again). Pre-moderation: only what a moderator approved.
    The one rule; the API's answers and events all say `visible` through it.
    """
    if premoderated:
        return state == State.APPROVED
    return state != State.HIDDEN
