"""The batch writer's statements: a group's history (COPY on PostgreSQL, one prepared INSERT elsewhere) and the
riders' last positions (one UPDATE joined to a VALUES list), from rows that are tuples of the history's column
values (`FixRow`). What Django's field conversion would do to them is done by `_history_values`, and a test holds
the two equal. Used by both writers (writer.py, loop_writer.py)."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections

from ..grid import cell_of
from ..models import LocationFix, Rider

POSITIONS_PER_STATEMENT = 400  # 5 parameters each: within SQLite's and PostgreSQL's limits
SQLITE_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)  # older SQLite (Django allows 3.31): a row each


class FixRow(NamedTuple):
    """One row of the location history (`LocationFix`), its values in the table's column order, typed as the
    columns are: aware datetimes, floats, an int seq, a bool, a str. What the model fields would convert is
    converted by `_history_values`."""

    rider_id: int
    order_id: int | None
    lat: float
    lng: float
    accuracy: float
    at: datetime
    received_at: datetime
    seq: int
    accepted: bool
    reason: str = ""

    def model(self) -> LocationFix:
        return LocationFix(**self._asdict())


def _history_columns() -> list:
    """LocationFix's columns as `bulk_create` writes them: every concrete field but the database's own key."""
    opts = LocationFix._meta
    return [f for f in opts.concrete_fields if f is not opts.auto_field and not getattr(f, "generated", False)]


def _history_values(rows: Sequence[FixRow]) -> Sequence[tuple]:
    """The rows' values as `bulk_create` would send them: of the fields' conversions (`get_db_prep_save`), the
    only one that changes a value of a FixRow's types is the backend's adaptation of the datetimes (a string
    on SQLite, the value itself on PostgreSQL). `tests/security/test_fix_writer.py` holds the two equal."""
    adapt = connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value  # this thread's, once
    if adapt(_PROBE_AT) is _PROBE_AT:  # PostgreSQL: each row is its values already
        return rows
    return [(*row[:_AT], adapt(row.at), adapt(row.received_at), *row[_AT + 2:]) for row in rows]


_PROBE_AT = datetime(2000, 1, 1, tzinfo=UTC)
_AT = FixRow._fields.index("at")  # the two datetimes, side by side
assert FixRow._fields[_AT:_AT + 2] == ("at", "received_at")


def _history_target(connection) -> str:
    """`table (columns)` of the history, as every statement that writes it names them."""
    qn = connection.ops.quote_name
    return f"{qn(LocationFix._meta.db_table)} ({', '.join(qn(f.column) for f in _history_columns())})"


def _copy_sql(connection) -> str:
    return f"COPY {_history_target(connection)} FROM STDIN"


def _group_statement(rows: Sequence[FixRow], positions: dict[int, tuple[float, float, Any]]) -> tuple[str, list[Any]]:
    """A group's history and its riders' last positions in one statement, for the loop writer on PostgreSQL: the
    history's INSERT from one array per column (`unnest`) inside a WITH, and the UPDATE joined to the positions'
    arrays, in rider order. The values are converted by the fields as `_history_insert` and `_positions_save`
    convert them. On the loop writer's autocommit connection the statement is its own transaction.

    Its text is the same for every group, so psycopg converts its placeholders once and the server prepares it
    after five runs. The multi-row VALUES statements it replaces (a BEGIN, an INSERT, an UPDATE and a COMMIT in
    pipeline mode) were new text for each group size, and psycopg parses a query of more than 50 parameters anew
    each time (MAX_CACHED_STATEMENT_PARAMS). Measured on PostgreSQL (2026-12), per group of 12 rows: 0.55-0.63
    ms of client CPU against 0.90-1.05, and 17-25 µs of server CPU per row against 27-38."""
    connection = connections[DEFAULT_DB_ALIAS]
    pk, lat, lng, seen, cell = _position_fields()
    values = _history_values(rows)
    params: list[Any] = [[value[i] for value in values] for i in range(len(_history_columns()))]
    items = sorted(positions.items())  # one lock order for writers in several processes
    params += [[pk.get_db_prep_save(rider_id, connection) for rider_id, _ in items],
               [lat.get_db_prep_save(a, connection) for _, (a, _b, _at) in items],
               [lng.get_db_prep_save(b, connection) for _, (_a, b, _at) in items],
               [seen.get_db_prep_save(at, connection) for _, (_a, _b, at) in items],
               [cell.get_db_prep_save(cell_of(a, b), connection) for _, (a, b, _at) in items]]
    return _group_sql(), params


def _position_fields() -> tuple[Any, Any, Any, Any, Any]:
    """The rider's last position's columns: the key, lat, lng, the time and the grid cell (dispatch/grid.py)."""
    opts = Rider._meta
    return (opts.pk, opts.get_field("last_lat"), opts.get_field("last_lng"), opts.get_field("last_seen_at"),
            opts.get_field("cell"))


@functools.cache
def _group_sql() -> str:
    """`_group_statement`'s text, the same for every group."""
    connection = connections[DEFAULT_DB_ALIAS]
    qn = connection.ops.quote_name
    history = f"INSERT INTO {_history_target(connection)} SELECT * FROM unnest(" + ", ".join(  # noqa: S608 - _meta
        f"%s::{field.db_type(connection)}[]" for field in _history_columns()) + ")"
    pk, lat, lng, seen, cell = _position_fields()
    table = qn(Rider._meta.db_table)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in (pk, lat, lng, seen, cell))
    col: Any = lambda field: qn(field.column)  # noqa: E731
    update = (f"UPDATE {table} SET {col(lat)} = v.a, {col(lng)} = v.b, {col(seen)} = v.c, "  # noqa: S608 - _meta
              f"{col(cell)} = v.d FROM unnest({arrays}) AS v (k, a, b, c, d) WHERE {table}.{col(pk)} = v.k")
    return f"WITH history AS ({history}) {update}"


def _history_insert(rows: Sequence[FixRow]) -> None:
    """One group's history in one statement (COPY on PostgreSQL, one prepared INSERT over the rows elsewhere),
    with the values converted by the fields as `bulk_create` converts them. The rows' keys are not read back."""
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    values = _history_values(rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(_copy_sql(connection)) as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join(["%s"] * len(_history_columns()))
            sql = f"INSERT INTO {_history_target(connection)} VALUES ({marks})"  # noqa: S608 - names from _meta
            cursor.executemany(sql, values)


def _positions_save(positions: dict[int, tuple[float, float, Any]]) -> None:
    """The riders' last positions with one UPDATE joined to a VALUES list per POSITIONS_PER_STATEMENT riders
    (PostgreSQL, and SQLite from 3.33), in rider order; values bound, converted by the fields."""
    if not positions:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite" and not SQLITE_UPDATE_FROM:
        for rider_id, (lat_, lng_, at_) in positions.items():
            Rider.objects.filter(pk=rider_id).update(last_lat=lat_, last_lng=lng_, last_seen_at=at_,
                                                     cell=cell_of(lat_, lng_))
        return
    with connection.cursor() as cursor:
        for sql, params in _positions_statements(positions):
            cursor.execute(sql, params)


def _positions_statements(positions: dict[int, tuple[float, float, Any]]) -> list[tuple[str, list[Any]]]:
    """`_positions_save`'s statements and their parameters (UPDATE ... FROM VALUES)."""
    connection = connections[DEFAULT_DB_ALIAS]
    pk, lat, lng, seen, cell = _position_fields()
    qn = connection.ops.quote_name
    table = qn(Rider._meta.db_table)
    col: Any = lambda field: qn(field.column)  # noqa: E731
    set_ = f"{col(lat)} = v.a, {col(lng)} = v.b, {col(seen)} = v.c, {col(cell)} = v.d"
    items = sorted(positions.items())  # one lock order for writers in several processes
    statements = []
    for start in range(0, len(items), POSITIONS_PER_STATEMENT):
        chunk = items[start:start + POSITIONS_PER_STATEMENT]
        params: list[Any] = []
        for rider_id, (a, b, at) in chunk:
            params += [pk.get_db_prep_save(rider_id, connection), lat.get_db_prep_save(a, connection),
                       lng.get_db_prep_save(b, connection), seen.get_db_prep_save(at, connection),
                       cell.get_db_prep_save(cell_of(a, b), connection)]
        rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        statements.append((f"WITH v (k, a, b, c, d) AS (VALUES {rows}) "  # noqa: S608 - names from _meta, values bound
                           f"UPDATE {table} SET {set_} FROM v WHERE {table}.{col(pk)} = v.k", params))
    return statements
