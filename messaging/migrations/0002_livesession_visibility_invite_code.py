"""Sessions get a visibility (existing ones become private) and each a fresh unique invite code.

In two steps so it runs the same on SQLite and PostgreSQL: a column default would give every
existing row the same code, so the column is added nullable, filled row by row, and only then
made unique and required (0003, its own transaction, so PostgreSQL has no pending row events).
"""

import secrets

from django.db import migrations, models


def fill_invite_codes(apps, schema_editor):
    LiveSession = apps.get_model("messaging", "LiveSession")
    db = schema_editor.connection.alias
    for pk in LiveSession.objects.using(db).filter(invite_code__isnull=True).values_list("pk", flat=True).iterator():
        LiveSession.objects.using(db).filter(pk=pk).update(invite_code=secrets.token_urlsafe(24))


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="livesession",
            name="visibility",
            field=models.CharField(
                choices=[("public", "Public"), ("private", "Private")], default="private", max_length=16
            ),
        ),
        migrations.AddConstraint(
            model_name="livesession",
            constraint=models.CheckConstraint(
                condition=models.Q(("visibility__in", ["public", "private"])),
                name="messaging_livesession_visibility_valid",
            ),
        ),
        migrations.AddField(
            model_name="livesession",
            name="invite_code",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill_invite_codes, migrations.RunPython.noop),
    ]
