import messaging.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0002_livesession_visibility_invite_code"),
    ]

    operations = [
        migrations.AlterField(
            model_name="livesession",
            name="invite_code",
            field=models.CharField(
                default=messaging.models.new_invite_code, editable=False, max_length=64, unique=True
            ),
        ),
    ]
