"""A planted history for the scorecards' tests: four drawn communes (two urban wards, two rural
communes), four agencies with known delays and ratings, three categories, over January to
mid-April 2026 (Tết: 16–20 February), with reopenings, duplicates, rejections and open reports.

Each agency's completion time is a planted fraction of its deadline (``f`` in a range per
category: f <= 1 is on time), so the agencies differ in a known way:

- ``sc-fast``: mostly easy reports, quick; rated 3–5;
- ``sc-slow``: mostly easy reports, slow; rated 1–4;
- ``sc-hard``: only the hard category (short deadline), on time more often than the others in
  it but less often than the fast agency overall: ranked above ``sc-slow`` only after
  standardisation;
- ``sc-tiny``: a dozen reports, too few to rank.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert

from gis_service.db.schema import H3_RESOLUTIONS, report, report_event
from gis_service.reports.calendar import TZ, due_at
from tests.factories import add_agency, add_category, add_generation, add_unit, square

START = dt.datetime(2026, 1, 5, tzinfo=TZ)
END = dt.datetime(2026, 4, 18, tzinfo=TZ)
NOW = dt.datetime(2026, 4, 20, 10, 0, tzinfo=TZ)
#: Reports before the window: the scope must leave them out.
BEFORE = dt.datetime(2025, 12, 10, 9, 0, tzinfo=TZ)
CATEGORIES = {"sc-easy": (10, "working_days"), "sc-hard": (2, "working_days"),
              "sc-urgent": (24, "hours")}
COMMUNES = {"SCU1": "Phường", "SCU2": "Phường", "SCR1": "Xã", "SCR2": "Xã"}


@dataclass(frozen=True)
class Plant:
    reports: int
    mix: dict[str, float]
    delay: dict[str, tuple[float, float]]
    ratings: tuple[int, ...]


PLANTS = {
    "sc-fast": Plant(170, {"sc-easy": 0.6, "sc-hard": 0.3, "sc-urgent": 0.1},
                     {"sc-easy": (0.05, 1.1), "sc-hard": (0.4, 1.5), "sc-urgent": (0.2, 1.3)},
                     (5, 5, 4, 4, 3)),
    "sc-slow": Plant(170, {"sc-easy": 0.8, "sc-hard": 0.2},
                     {"sc-easy": (0.1, 1.4), "sc-hard": (0.8, 2.2)}, (4, 3, 2, 2, 1)),
    "sc-hard": Plant(130, {"sc-hard": 1.0}, {"sc-hard": (0.3, 1.4)}, (5, 4, 4, 3, 2)),
    "sc-tiny": Plant(12, {"sc-easy": 1.0}, {"sc-easy": (0.1, 1.2)}, (5, 4)),
}


@dataclass
class _Place:
    generation_id: int
    province_id: int
    communes: dict[str, int]
    agencies: dict[str, int]


def _place(conn: Connection) -> _Place:
    generation_id = add_generation(conn, "sc", status="active", valid_from=dt.date(2025, 7, 1))
    province_id = add_unit(conn, generation_id, "SCP", square(107.0, 16.0, 1.0), level="province")
    communes = {code: add_unit(conn, generation_id, code, square(107.0 + 0.2 * i, 16.2, 0.1),
                               unit_type=kind, parent_id=province_id, name=f"Xã/Phường {code}")
                for i, (code, kind) in enumerate(COMMUNES.items())}
    for code, (amount, unit) in CATEGORIES.items():
        add_category(conn, code, deadline_amount=amount, deadline_unit=unit)
    agencies = {code: add_agency(conn, code, kind="department") for code in PLANTS}
    return _Place(generation_id, province_id, communes, agencies)


def _created(rng: random.Random, start: dt.datetime = START, end: dt.datetime = END) -> dt.datetime:
    minutes = int((end - start).total_seconds() // 60)
    return start + dt.timedelta(minutes=rng.randrange(minutes))


class _Planter:
    def __init__(self, conn: Connection, place: _Place, rng: random.Random) -> None:
        self.conn, self.place, self.rng = conn, place, rng
        self.count = 0
        self.last_original: int | None = None

    def _insert(self, agency: str, category: str, created: dt.datetime, **values: object) -> int:
        self.count += 1
        commune = self.rng.choice(list(self.place.communes.values()))
        amount, unit = CATEGORIES[category]
        row = {
            "public_id": f"SC-{self.count:04d}", "category": category,
            "channel": self.rng.choice(("app", "web", "hotline", "app")),
            "geom": func.ST_SetSRID(func.ST_MakePoint(107.05, 16.25), 4326),
            "location_source": "gps", **{f"h3_r{res}": 0 for res in H3_RESOLUTIONS},
            "snap_generation_id": self.place.generation_id, "commune_id": commune,
            "province_id": self.place.province_id,
            "current_generation_id": self.place.generation_id, "current_commune_id": commune,
            "current_province_id": self.place.province_id, "snap_match": "inside",
            "snap_distance_m": 0.0, "agency_id": self.place.agencies[agency],
            "created_at": created, "due_at": due_at(created, amount, unit), **values}
        return int(self.conn.execute(insert(report).values(**row).returning(report.c.id)).scalar_one())

    def _event(self, report_id: int, at: dt.datetime, to_status: str) -> None:
        self.conn.execute(insert(report_event).values(report_id=report_id, at=at, actor="test",
                                                      kind="status", to_status=to_status))

    def plant(self, agency: str, plant: Plant, created: dt.datetime) -> None:
        rng = self.rng
        category = rng.choices(list(plant.mix), weights=list(plant.mix.values()))[0]
        amount, unit = CATEGORIES[category]
        due = due_at(created, amount, unit)
        low, high = plant.delay[category]
        completed = created + (due - created) * rng.uniform(low, high)
        responded = created + dt.timedelta(hours=rng.uniform(0.2, 30))
        outcome = rng.random()
        if outcome < 0.04 and self.last_original is not None:
            self._insert(agency, category, created, status="duplicate",
                         duplicate_of=self.last_original)
            return
        if outcome < 0.12 or completed > NOW - dt.timedelta(hours=1):
            status = rng.choice(("received", "assigned", "in_progress"))
            self._insert(agency, category, created, status=status,
                         first_response_at=None if status == "received" else responded)
            return
        if outcome < 0.16:
            self._insert(agency, category, created, status="rejected", first_response_at=responded,
                         closed_at=responded)
            return
        self._completed(agency, category, created, responded, completed, plant)

    def _rating(self, plant: Plant) -> int | None:
        return self.rng.choice(plant.ratings) if self.rng.random() < 0.7 else None

    def _completed(self, agency: str, category: str, created: dt.datetime,  # noqa: PLR0917  # a test helper's plain arguments
                   responded: dt.datetime, completed: dt.datetime, plant: Plant) -> None:
        rng, path = self.rng, self.rng.random()
        responded = min(responded, completed)
        common = {"first_response_at": responded, "satisfaction": self._rating(plant)}
        if path < 0.08:  # closed without ever being marked resolved (an imported history)
            self._insert(agency, category, created, status="closed", closed_at=completed, **common)
            return
        if path < 0.30 and completed + dt.timedelta(days=45) < NOW:
            self._reopened(agency, category, created, completed, common, path)
            return
        closed = rng.random() < 0.5
        report_id = self._insert(agency, category, created, status="closed" if closed else "resolved",
                                 resolved_at=completed,
                                 closed_at=completed + dt.timedelta(days=2) if closed else None,
                                 **common)
        self._event(report_id, completed, "resolved")
        self.last_original = report_id

    def _reopened(self, agency: str, category: str, created: dt.datetime,  # noqa: PLR0917  # as _completed
                  completed: dt.datetime, common: dict[str, object], path: float) -> None:
        """Within 30 days and resolved again, after 40 days and resolved again, or still open."""
        gap = dt.timedelta(days=3 if path < 0.20 else 40 if path < 0.25 else 5)
        reopened = completed + gap
        again = reopened + dt.timedelta(days=2)
        still_open = path >= 0.25
        report_id = self._insert(agency, category, created,
                                 status="reopened" if still_open else "resolved",
                                 resolved_at=None if still_open else again, **common)
        self._event(report_id, completed, "resolved")
        self._event(report_id, reopened, "reopened")
        if not still_open:
            self._event(report_id, again, "resolved")


def plant_history(conn: Connection, seed: int = 15) -> int:
    """Plant the history (in the caller's transaction); return how many reports."""
    rng = random.Random(seed)
    planter = _Planter(conn, _place(conn), rng)
    for agency, plant in PLANTS.items():
        for _ in range(plant.reports):
            planter.plant(agency, plant, _created(rng))
        planter.plant(agency, plant, BEFORE)
    return planter.count
