"""The riders' spatial index: a fixed grid of CELL_DEG × CELL_DEG cells (about 1.1 km north-south, 0.7 km
east-west at 51.5°N), one integer per cell, stored in `Rider.cell` beside the last position and indexed.

A cell's number is `row * COLS + col`, rows counted from the south pole and columns from the antimeridian,
so the cells of one grid row are consecutive numbers: a square of cells around a point is one range of
numbers per row (`square_ranges`), and a ring around a smaller square two ranges per row (`ring_ranges`).
Both SQLite and PostgreSQL answer an OR of such ranges from the index. The grid does not wrap at the
antimeridian (a rider 1 km across it is simply not found near a store on the other side).

Pure: no Django, so the writers (dispatch/live/statements.py), the services and the selector share it."""

from __future__ import annotations

import math

CELL_DEG = 0.01
ROWS = 18_000  # 180° / CELL_DEG
COLS = 36_000  # 360° / CELL_DEG
EARTH_R = 6_371_008.8  # the mean radius, as geofence.fast_distance measures


def row_col(lat: float, lng: float) -> tuple[int, int]:
    row = min(ROWS - 1, max(0, math.floor((lat + 90.0) / CELL_DEG)))
    col = min(COLS - 1, max(0, math.floor((lng + 180.0) / CELL_DEG)))
    return row, col


def cell_of(lat: float | None, lng: float | None) -> int | None:
    """The cell holding a position; None for no position (a rider off duty or never seen)."""
    if lat is None or lng is None:
        return None
    row, col = row_col(lat, lng)
    return row * COLS + col


def square_ranges(row: int, col: int, k: int) -> list[tuple[int, int]]:
    """The cells within k cells of (row, col), as inclusive (first, last) ranges, one per grid row."""
    c0, c1 = max(0, col - k), min(COLS - 1, col + k)
    return [(r * COLS + c0, r * COLS + c1) for r in range(max(0, row - k), min(ROWS - 1, row + k) + 1)]


def ring_ranges(row: int, col: int, inner: int, outer: int) -> list[tuple[int, int]]:
    """The cells within `outer` cells of (row, col) but not within `inner` (inner < 0: the whole square)."""
    if inner < 0:
        return square_ranges(row, col, outer)
    out = []
    c0, c1 = max(0, col - outer), min(COLS - 1, col + outer)
    for r in range(max(0, row - outer), min(ROWS - 1, row + outer) + 1):
        if abs(r - row) > inner:
            out.append((r * COLS + c0, r * COLS + c1))
            continue
        left, right = col - inner - 1, col + inner + 1
        if left >= c0:
            out.append((r * COLS + c0, r * COLS + left))
        if right <= c1:
            out.append((r * COLS + right, r * COLS + c1))
    return out


def reach_m(lat: float, lng: float, k: int) -> float:
    """A lower bound of the distance (as geofence.fast_distance measures it) from (lat, lng) to any point
    outside the square of k cells around its cell: the nearest edge of the square, north-south in metres of
    latitude, east-west at the cosine of the square's highest latitude (the mean latitude of two points of
    which one is in the square's rows is at most that; a point outside its rows is farther north-south)."""
    row, col = row_col(lat, lng)
    south, north = (row - k) * CELL_DEG - 90.0, (row + k + 1) * CELL_DEG - 90.0
    west, east = (col - k) * CELL_DEG - 180.0, (col + k + 1) * CELL_DEG - 180.0
    dlat = min(lat - south, north - lat)
    top = min(89.999, max(abs(south), abs(north)))
    dlng = min(lng - west, east - lng) * math.cos(math.radians(top))
    return EARTH_R * math.radians(max(0.0, min(dlat, dlng)))
