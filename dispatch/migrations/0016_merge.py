# The branches of one working day each added a migration beside the others: no operations, only the join.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0015_api"),
        ("dispatch", "0015_guard"),
        ("dispatch", "0015_hooks"),
        ("dispatch", "0015_notify"),
        ("dispatch", "0015_pod"),
        ("dispatch", "0015_report"),
    ]

    operations = []
