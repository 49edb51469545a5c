import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Ownership",
            fields=[
                ("context", models.CharField(max_length=32, primary_key=True, serialize=False)),
                (
                    "owner",
                    models.CharField(
                        choices=[("monolith", "Monolith"), ("service", "Service")],
                        default="monolith",
                        max_length=16,
                    ),
                ),
                ("frozen", models.BooleanField(default=False)),
                ("generation", models.PositiveIntegerField(default=0)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("why", models.TextField(blank=True, default="")),
            ],
            options={"db_table": "eventbus_ownership"},
        ),
    ]
