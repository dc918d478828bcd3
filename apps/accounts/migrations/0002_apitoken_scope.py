from django.db import migrations, models


class Migration(migrations.Migration):
    """Token scopes. Tokens made before scopes existed could write: they keep the write scope;
    new tokens are read-only unless the write scope is chosen."""

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(default="write", max_length=10,
                                   choices=[("read", "read only"), ("write", "read and write")]),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "read only"), ("write", "read and write")], default="read",
                help_text="read: GET only; write: everything its owner's grants allow", max_length=10),
        ),
    ]
