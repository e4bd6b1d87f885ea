"""The batch writer's own statements against Django's: the same location fixes written once by
`bulk_create` and once by `dispatch.live.writer._history_insert`, and last positions saved once by the
ORM's `update` and once by `_positions_save`, read back through the ORM. Used in process on SQLite
(tests/security/test_fix_writer.py) and, as `python -m tests.fix_roundtrip` with DATABASE_URL, on PostgreSQL
(tests/integration/test_fix_writer_pg.py): prints one JSON line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from django.db import transaction

# seqs in [seq0, seq0 + 2**41)
SEQ_ORM, SEQ_WRITER, SEQ_LOOP, SEQ_FAIL, SEQ_LEFT, SEQ_MORE = 2**42, 2**43, 2**44, 2**45, 2**46, 2**47
KEEP = ("rider_id", "order_id", "lat", "lng", "accuracy", "at", "received_at", "seq", "accepted", "reason")


def sample_rows(rider, order, seq0: int) -> list:
    """Fixes (`FixRow`s) with the values that need converting: aware datetimes in another zone and with
    microseconds, both booleans, no order, an empty and a non-ASCII reason."""
    from dispatch.live.statements import FixRow

    plus2 = timezone(timedelta(hours=2))
    at = datetime(2026, 11, 30, 23, 59, 58, 123456, tzinfo=plus2)
    return [
        FixRow(rider.pk, order.pk, 51.5033, -0.1196, 8.25, at, datetime(2026, 12, 1, 5, 0, 1, 999999, tzinfo=UTC),
               seq0 + 1, True, ""),
        FixRow(rider.pk, None, -33.8688, 151.2093, 12.0, at + timedelta(seconds=1), at, seq0 + 2, False,
               "speed: 58.3 m/s é"),
        FixRow(rider.pk, order.pk, 0.0, 180.0, 0.0, datetime(2000, 1, 1, tzinfo=UTC),
               datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC), seq0 + 2**40, True, "x" * 32),
    ]


def fields_agree(rider, order) -> bool:
    """Whether the writer's values (`_history_values`) are what the model fields' own conversion makes of the
    same rows (`get_db_prep_save`, as `bulk_create` converts them), on this database, in the columns' order."""
    from django.db import connection

    from dispatch.live.statements import FixRow, _history_columns, _history_values

    columns = _history_columns()
    assert list(FixRow._fields) == [f.attname for f in columns], "FixRow is not the history's columns in order"
    rows = sample_rows(rider, order, 0)
    fields = [tuple(f.get_db_prep_save(f.pre_save(row.model(), True), connection) for f in columns) for row in rows]
    return [tuple(v) for v in _history_values(rows)] == fields


def read_back(seq0: int) -> list[dict]:
    from dispatch.models import LocationFix

    rows = LocationFix.objects.filter(seq__gte=seq0, seq__lt=seq0 + 2**41).order_by("seq").values(*KEEP)
    return [{**row, "seq": row["seq"] - seq0} for row in rows]


def history(rider, order) -> tuple[list[dict], list[dict]]:
    """(what bulk_create wrote, what the writer wrote), each read back through the ORM."""
    from dispatch.live.statements import _history_insert
    from dispatch.models import LocationFix

    with transaction.atomic():
        LocationFix.objects.bulk_create([row.model() for row in sample_rows(rider, order, SEQ_ORM)])
    with transaction.atomic():
        _history_insert(sample_rows(rider, order, SEQ_WRITER))
    return read_back(SEQ_ORM), read_back(SEQ_WRITER)


def positions(riders: list) -> tuple[list[tuple], list[tuple]]:
    """(the last positions the ORM's update saves, those `_positions_save` saves), read back through the ORM."""
    from dispatch.live.statements import _positions_save
    from dispatch.models import Rider

    plus2 = timezone(timedelta(hours=2))
    at = datetime(2026, 12, 1, 7, 0, 0, 654321, tzinfo=plus2)
    values = {r.pk: (51.5 + i / 1000, -0.12 - i / 1000, at + timedelta(seconds=i)) for i, r in enumerate(riders)}
    values[riders[0].pk] = (52, -1, datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # ints where floats go

    def read() -> list[tuple]:
        return list(Rider.objects.filter(pk__in=values).order_by("pk").values_list("pk", "last_lat", "last_lng",
                                                                                  "last_seen_at"))

    with transaction.atomic():
        for pk, (lat, lng, at) in values.items():
            Rider.objects.filter(pk=pk).update(last_lat=lat, last_lng=lng, last_seen_at=at)
    orm = read()
    Rider.objects.filter(pk__in=values).update(last_lat=None, last_lng=None, last_seen_at=None)
    with transaction.atomic():
        _positions_save(values)
    return orm, read()


def loop_writer(rider, order, riders: list) -> dict:
    """The event loop's writer (dispatch.live.writer.LoopWriter) on this database: what it writes against
    what `bulk_create` wrote (run `history` first), the acks it gives and holds back, and what it does with a
    failed write and with rows left when its loop ends."""
    import asyncio

    import psycopg

    from dispatch.live import loop_writer as loop_writer_module
    from dispatch.live import statements
    from dispatch.live import writer as fixes
    from dispatch.models import Rider

    report: dict = {}

    async def scenario() -> None:
        writer = loop_writer_module.loop_writer()
        report["writer"] = type(writer).__name__
        ack = writer.add(sample_rows(rider, order, SEQ_LOOP), position=(rider.pk, 50.25, -1.5, datetime.now(UTC)))
        report["acked_before_commit"] = ack.done()
        report["acked"] = await fixes.fixes_durable(ack, wait_s=10)
        report["groups"] = writer.groups
        # A failed write: the rows and their waiter stay; the next attempt (on a new connection) writes them.
        real = statements._group_statement
        statements._group_statement = lambda rows, positions: ("INSERT INTO no_such_table VALUES (1)", [])
        try:
            failed = writer.add(sample_rows(rider, order, SEQ_FAIL)[:1])
            report["failed_write_acked"] = await fixes.fixes_durable(failed, wait_s=0.3)
            report["kept_after_failure"] = writer.pending()
        finally:
            statements._group_statement = real
        report["acked_after_retry"] = await fixes.fixes_durable(failed, wait_s=10)
        # Groups of other sizes, with and without positions: one statement's text, prepared on its sixth run with
        # the same parameter types (positions or none).
        samples = sample_rows(rider, order, 0)
        for size in (1, 2, 5, 7, 3, 4, 6):
            more = [samples[i % 3]._replace(seq=SEQ_MORE + size * 100 + i) for i in range(size)]
            position = None if size == 2 else (riders[-1].pk, 50.5, -1.25, datetime.now(UTC))
            report.setdefault("more_acked", []).append(
                await fixes.fixes_durable(writer.add(more, position=position), wait_s=10))
        cursor = await writer._conn.execute("SELECT statement FROM pg_prepared_statements")
        report["prepared"] = [row[0][:40] for row in await cursor.fetchall()]
        # An application name of its own, so the connection can be told apart in pg_stat_activity.
        report["application_name"] = writer._conn.info.parameter_status("application_name")
        # Rows queued as the loop ends (a gather window longer than the loop lives) go to the thread writer.
        report["left_at_end"] = len(sample_rows(rider, order, SEQ_LEFT))
        writer.add(sample_rows(rider, order, SEQ_LEFT))
        report["connection"] = writer._conn

    from django.conf import settings

    settings.LOCATION_FIX_BATCH = True
    window, settings.LOCATION_FIX_FLUSH_S = settings.LOCATION_FIX_FLUSH_S, 0.01
    real_sleep = asyncio.sleep

    async def run() -> None:
        await scenario()
        settings.LOCATION_FIX_FLUSH_S = 30  # the last rows wait out the window: the loop ends first
        await real_sleep(0.05)

    asyncio.run(run())
    settings.LOCATION_FIX_FLUSH_S = window
    conn: psycopg.AsyncConnection = report.pop("connection")
    report["connection_closed_with_the_loop"] = conn.closed
    fixes.buffer.flush()
    report["loop_history"] = read_back(SEQ_LOOP)
    report["more_written"] = len(read_back(SEQ_MORE))
    report["failed_then_written"] = read_back(SEQ_FAIL)
    report["left_then_written"] = len(read_back(SEQ_LEFT))
    report["loop_position"] = list(Rider.objects.filter(pk=rider.pk).values_list("last_lat", "last_lng").get())
    return report


def main() -> None:
    import django

    django.setup()
    from dispatch.models import Merchant, Order, Rider, Store
    from dispatch.services.orders import order_create
    from tests.factories import order_payload

    order = Order.objects.first()
    if order is None:
        payload = order_payload()
        order = order_create(merchant=Merchant.objects.first(), store=Store.objects.first(), external_ref="FIX-RT",
                             customer=payload["customer"], items=payload["items"], consent=payload["consent"])
    riders = list(Rider.objects.order_by("pk"))
    orm, writer = history(riders[0], order)
    orm_positions, writer_positions = positions(riders)
    loop = loop_writer(riders[0], order, riders) if django.db.connection.vendor == "postgresql" else None
    print(json.dumps({"vendor": django.db.connection.vendor, "orm": orm, "writer": writer,
                      "fields_agree": fields_agree(riders[0], order),
                      "orm_positions": orm_positions, "writer_positions": writer_positions, "riders": len(riders),
                      "loop": loop}, default=str))


if __name__ == "__main__":
    main()
