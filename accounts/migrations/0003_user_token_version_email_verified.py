from django.db import migrations, models


def forget_raw_refresh_tokens(apps, schema_editor):
    """OutstandingToken.token held every refresh token in the clear (readable in the admin and
    usable at /refresh). Revocation needs only the jti, so the stored copies are erased."""
    OutstandingToken = apps.get_model("token_blacklist", "OutstandingToken")
    OutstandingToken.objects.exclude(token="").filter(token__contains=".").update(token="")


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_profile_authevent"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="user",
            name="token_version",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AlterField(
            model_name="authevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("signup", "Signup"), ("login_succeeded", "Login Succeeded"), ("login_failed", "Login Failed"),
                    ("lockout", "Lockout"), ("refresh", "Refresh"), ("logout", "Logout"),
                    ("password_changed", "Password Changed"), ("external_user_created", "External User Created"),
                    ("token_rejected", "Token Rejected"), ("token_reused", "Token Reused"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(forget_raw_refresh_tokens, migrations.RunPython.noop),
    ]
