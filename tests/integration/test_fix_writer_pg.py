"""The batch writer's own statements on PostgreSQL (dispatch/live/writer.py): the history's COPY and the last
positions' UPDATE ... FROM (VALUES ...) write what Django's `bulk_create` and `update` write, read back through
the ORM (tests/fix_roundtrip.py, in a process on the scale profile's database). SQLite: test_fix_writer.py."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.harness import BIN, ROOT, LiveStack, Template, create_pg_database, drop_pg_database, scale_urls

pytestmark = pytest.mark.scale


def test_copy_and_the_joined_update_write_what_the_orm_writes_on_postgresql(tmp_path):
    base_url = scale_urls()[0]
    if not base_url:
        pytest.skip("needs DATABASE_URL (PostgreSQL)")
    stack = LiveStack(tmp_path, database_url=base_url)
    template = Template.for_stack(stack)  # migrated, with the demo data
    db_url, db_name = create_pg_database(base_url, template=template.db_name)
    try:
        done = subprocess.run([str(BIN / "python"), "-m", "tests.fix_roundtrip"], cwd=ROOT, check=True,
                              env=stack.build_env(var_dir=template.var, db_url=db_url), capture_output=True,
                              text=True, timeout=120)
    finally:
        drop_pg_database(base_url, db_name)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["vendor"] == "postgresql"
    assert len(report["orm"]) == 3 and report["orm"][1]["order_id"] is None
    assert report["writer"] == report["orm"] and report["fields_agree"]
    assert report["riders"] >= 2 and report["writer_positions"] == report["orm_positions"]
    loop = report["loop"]
    # The event loop's writer: the same conversions, an ack only after the commit.
    assert loop["writer"] == "LoopWriter" and loop["groups"] == 1
    assert loop["acked_before_commit"] is False and loop["acked"] is True
    assert loop["loop_history"] == report["orm"]
    assert loop["loop_position"] == [50.25, -1.5]
    # Groups of any size, with or without positions, are one statement's text, which the server prepares.
    assert loop["more_acked"] == [True] * 7 and loop["more_written"] == 1 + 2 + 5 + 7 + 3 + 4 + 6
    assert loop["prepared"] == ["WITH history AS (INSERT INTO \"dispatch_l"], loop["prepared"]
    # A failed write keeps its rows and its waiter unacked; the retry writes them and acks.
    assert loop["failed_write_acked"] is False and loop["kept_after_failure"] == 1
    assert loop["acked_after_retry"] is True and len(loop["failed_then_written"]) == 1
    assert loop["application_name"] == "dispatch-fix-loop-writer"
    # Rows queued when the loop ends are written by the thread writer; the loop's connection is closed.
    assert loop["left_then_written"] == loop["left_at_end"] == 3
    assert loop["connection_closed_with_the_loop"] is True
