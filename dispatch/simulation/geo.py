# ruff: noqa: S311 - simulated movement and noise, nothing secret
"""Movement and GPS for the sim riders: metres to degrees, and a rider who moves and reports noisy fixes."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

M_PER_DEG_LAT = 111_195.0


def offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / M_PER_DEG_LAT, lng + east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    y = math.radians(b[0] - a[0])
    return 6_371_008.8 * math.hypot(x, y)


@dataclass
class Mover:
    """A rider's true position moving toward a target at a riding speed, with stops (lights, traffic),
    and the GPS fixes a phone would report: Gaussian noise of sigma = accuracy / 2, 5-20 m accuracy and,
    in an urban canyon, 10% of fixes at 60-120 m."""

    lat: float
    lng: float
    speed: float = 7.0
    rng: random.Random = field(default_factory=random.Random)
    target: tuple[float, float] | None = None
    stopped_until: float = 0.0
    seq: int = 0
    last_ts: float = 0.0

    def advance(self, dt: float, now: float) -> None:
        if self.target is None or now < self.stopped_until:
            return
        if self.rng.random() < 0.01 * dt:  # a stop roughly every 100 s of riding
            self.stopped_until = now + self.rng.uniform(5, 25)
            return
        left = distance((self.lat, self.lng), self.target)
        step = min(left, self.speed * self.rng.uniform(0.8, 1.2) * dt)
        if left < 0.5:
            return
        north = (self.target[0] - self.lat) * M_PER_DEG_LAT
        east = (self.target[1] - self.lng) * M_PER_DEG_LAT * math.cos(math.radians(self.lat))
        self.lat, self.lng = offset(self.lat, self.lng, north * step / left, east * step / left)

    def arrived(self, within: float = 8.0) -> bool:
        return self.target is None or distance((self.lat, self.lng), self.target) <= within

    def fix(self, *, canyon: bool = True, noise: bool = True) -> dict[str, Any]:
        accuracy = self.rng.uniform(5, 20)
        if canyon and self.rng.random() < 0.1:
            accuracy = self.rng.uniform(60, 120)
        sigma = accuracy / 2 if noise else 0.0
        lat, lng = offset(self.lat, self.lng, self.rng.gauss(0, sigma), self.rng.gauss(0, sigma))
        self.seq += 1
        ts = max(time.time(), self.last_ts + 0.001)  # the client's send time, strictly increasing
        self.last_ts = ts
        return {"type": "location", "lat": round(lat, 7), "lng": round(lng, 7), "accuracy": round(accuracy, 1),
                "timestamp": ts, "seq": self.seq}
