from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_moderators_group(sender, using="default", **kwargs) -> None:
    # See moderation/decisions/accounts.py: a flush empties auth_group but re-runs only
    # post_migrate, so the group from migration 0002 is re-created here.
    from .decisions.accounts import moderators_group_ensure

    moderators_group_ensure()


class ModerationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self) -> None:
        post_migrate.connect(
            _ensure_moderators_group, sender=self, dispatch_uid="moderation_moderators_group"
        )
        # Registers the system checks, the signal receivers and the Celery tasks.
        from django.contrib.auth.signals import user_logged_in

        from .dashboard.preferences import preferences_load_on_login
        from .decisions import receivers as decision_receivers  # noqa: F401

        user_logged_in.connect(preferences_load_on_login,
                               dispatch_uid="moderation_preferences_on_login")
        from .events import receivers as event_receivers  # noqa: F401
        from .events import tasks as event_tasks  # noqa: F401
        from .scoring import checks, receivers, tasks  # noqa: F401
