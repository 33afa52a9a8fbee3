"""The two collection kinds every site has (normal; descontado, never collected) and the update's lock row."""

from __future__ import annotations

from typing import Any

from django.db import migrations

KINDS = [("normal", "Normal", True), ("descontado", "Descontado", False)]


def create(apps: Any, schema_editor: Any) -> None:
    kind = apps.get_model("collections", "CollectionKind")
    for code, name, collected in KINDS:
        kind.objects.get_or_create(code=code, defaults={"name": name, "collected": collected})
    apps.get_model("collections", "UpdateLock").objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("collections", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
