"""A ping's history row, built and converted, the seventh pass's way against the eighth's (#10). Prints figures.

    TESTING=1 DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python docs/profiles/eighth/row_bench.py
    (add DATABASE_URL=postgres://... for PostgreSQL)
"""

import timeit
from datetime import UTC, datetime

import django

django.setup()

from django.db import connection  # noqa: E402

from dispatch.live.statements import FixRow, _history_columns, _history_values  # noqa: E402
from dispatch.models import LocationFix, Rider  # noqa: E402

rider = Rider(pk=5)
at = datetime.now(UTC)
columns = _history_columns()


def seventh():
    rows = [LocationFix(rider=rider, order_id=3, lat=1.0, lng=2.0, accuracy=5.0, at=at, received_at=at, seq=1,
                        accepted=True, reason="")]
    return [tuple(f.get_db_prep_save(f.pre_save(row, True), connection) for f in columns) for row in rows]


def eighth():
    return _history_values([FixRow(rider.pk, 3, 1.0, 2.0, 5.0, at, at, 1, True, "")])


n = 20000
for name, fn in (("LocationFix + the fields' conversion", seventh), ("FixRow + _history_values", eighth)):
    t = min(timeit.repeat(fn, number=n, repeat=3)) / n
    print(f"{connection.vendor}: {name}: {t * 1e6:.1f} µs per ping's row")
