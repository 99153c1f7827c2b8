"""Per-session message sequence numbers: existing messages are numbered 1..n per session in id order."""

from django.db import migrations, models

BATCH = 1000


def number_existing_messages(apps, schema_editor):
    LiveSession = apps.get_model("messaging", "LiveSession")
    Message = apps.get_model("messaging", "Message")
    db = schema_editor.connection.alias
    session_ids = Message.objects.using(db).order_by().values_list("session_id", flat=True).distinct()
    for session_id in list(session_ids):
        seq = 0
        batch = []
        for message in Message.objects.using(db).filter(session_id=session_id).order_by("id").only("id").iterator():
            seq += 1
            message.seq = seq
            batch.append(message)
            if len(batch) >= BATCH:
                Message.objects.using(db).bulk_update(batch, ["seq"])
                batch = []
        if batch:
            Message.objects.using(db).bulk_update(batch, ["seq"])
        LiveSession.objects.using(db).filter(pk=session_id).update(last_seq=seq)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_livesession_invite_code_unique"),
    ]

    operations = [
        migrations.AddField(
            model_name="livesession",
            name="last_seq",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="message",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_existing_messages, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="seq",
            field=models.PositiveBigIntegerField(editable=False),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(fields=("session", "seq"), name="messaging_message_session_seq_unique"),
        ),
    ]
