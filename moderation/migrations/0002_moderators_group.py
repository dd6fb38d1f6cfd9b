"""The Moderators group: may moderate comments and read what that needs in admin."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Moderators"
PERMISSIONS = (
    ("moderation", "moderate_comment"),
    ("moderation", "view_decision"),
    ("moderation", "view_toxicityscore"),
    ("threads", "view_thread"),
    ("threads", "view_comment"),
    ("threads", "view_author"),
)


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate);
    # create them now so a fresh database gets a complete group.
    for label in ("threads", "moderation"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0,
                           using=schema_editor.connection.alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(schema_editor.connection.alias).get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(
            Permission.objects.using(schema_editor.connection.alias).get(
                content_type__app_label=app_label, codename=codename
            )
        )


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name=GROUP
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_initial"),
        ("threads", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
