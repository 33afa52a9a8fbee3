"""History rows written before API tokens declared their hash secret kept it: forget it."""

from django.db import migrations


def forget_hashes(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Change = apps.get_model("history", "Change")
    token_types = ContentType.objects.filter(app_label="accounts", model="apitoken")
    for change in Change.objects.filter(content_type__in=token_types).iterator():
        if isinstance(change.changes, dict) and "key_hash" in change.changes:
            change.changes = {k: v for k, v in change.changes.items() if k != "key_hash"}
            change.save(update_fields=["changes"])


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("history", "0001_initial"),
    ]

    operations = [migrations.RunPython(forget_hashes, migrations.RunPython.noop)]
