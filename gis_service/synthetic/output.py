"""Writing a synthetic history: the reports file (the bulk-import format), the incidents file
and the truth file, streamed window by window.

The truth is everything an analyst could want to check an estimate against: the parameters
and seed, each commune's true reporting rate (reports per day of an open incident: the
intensity of the Poisson process the reports were drawn from), its incidents including the
ones nobody reported, the days its reported incidents were observed open (the exposure), and
the same per setting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from gis_service.reports.importing.format import COLUMNS, ENCODING, UTC_OFFSET
from gis_service.synthetic import texts
from gis_service.synthetic.lifecycle import MISSING
from gis_service.synthetic.simulate import CHANNELS, LOCATION_SOURCES, Incidents, Reports
from gis_service.synthetic.world import DAY, World

IntArray = npt.NDArray[np.int64]
INCIDENT_COLUMNS = (
    "incident_id", "occurred_at", "commune_code", "setting", "category", "lon", "lat", "cluster",
    "reports_per_day", "first_report_at", "closes_at", "reports_drawn", "reports_observed",
)
PUBLIC_ID_DIGITS = 9
_SATISFACTION = np.array(["", "1", "2", "3", "4", "5"], dtype=object)


def truth_path(reports_path: Path) -> Path:
    """``x.csv`` -> ``x.truth.json``."""
    return reports_path.with_suffix(".truth.json")


def incidents_path(reports_path: Path) -> Path:
    """``x.csv`` -> ``x.incidents.csv``."""
    return reports_path.with_suffix(".incidents.csv")


def iso_times(seconds: IntArray) -> list[str]:
    """Vietnam-clock seconds to ISO 8601 with the +07:00 offset; MISSING to "".

    >>> iso_times(np.array([0, MISSING]))
    ['1970-01-01T00:00:00+07:00', '']
    """
    # MISSING (the smallest int64) is NaT as datetime64.
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").tolist()
    return ["" if value == "NaT" else value + UTC_OFFSET for value in text]


class TimeText:
    """:func:`iso_times` for a known range of days, five times faster: the text of a time is
    its day's text plus its time of day's, both looked up in tables."""

    def __init__(self, first_day_s: int, days: int) -> None:
        self.first_day_s = first_day_s
        first = np.datetime64(first_day_s // DAY, "D")
        dates = np.datetime_as_string(first + np.arange(days), unit="D").tolist()
        self.day_text = np.array([date + "T" for date in dates], dtype=object)
        self.clock_text = np.array(
            [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{UTC_OFFSET}" for s in range(DAY)],
            dtype=object)

    def __call__(self, seconds: IntArray) -> list[str]:
        missing = seconds == MISSING
        offset = np.where(missing, 0, seconds - self.first_day_s)
        day = offset // DAY
        if day.min(initial=0) < 0 or day.max(initial=0) >= len(self.day_text):
            return iso_times(seconds)
        text = self.day_text[day] + self.clock_text[offset % DAY]
        text[missing] = ""
        return list(text.tolist())


def decimals(values: npt.NDArray[np.float64]) -> list[str]:
    """Coordinates with six decimals (about 0.1 m)."""
    return [f"{value:.6f}" for value in values.tolist()]


def integers(values: IntArray) -> list[str]:
    return [str(value) for value in values.tolist()]


def quoted(values: npt.NDArray[np.object_]) -> list[str]:
    """Free text as a CSV field: in quotes unless empty (an unquoted empty field is NULL).

    The values must hold no double quote, so nothing needs escaping: the generator's texts are
    built only from its own tables and from names passed through ``texts.clean``.
    """
    return [f'"{value}"' if value else "" for value in values.tolist()]


def plain(values: npt.NDArray[np.object_]) -> list[str]:
    """Fields that never hold a comma, quote or line break (codes, ids, phones, URLs)."""
    return list(values.tolist())


def write_rows(handle: IO[str], columns: Sequence[Sequence[str]]) -> None:
    """Append rows given column by column (every field already a CSV field)."""
    if columns and len(columns[0]):
        handle.write("\n".join(map(",".join, zip(*columns, strict=True))))
        handle.write("\n")


def public_ids(prefix: str, first: int, count: int) -> npt.NDArray[np.object_]:
    return np.array([f"{prefix}{n:0{PUBLIC_ID_DIGITS}d}" for n in range(first, first + count)],
                    dtype=object)


def _originals(reps: Reports, n_incidents: int) -> IntArray:
    """Row of each incident's original report (-1 for incidents nobody reported)."""
    position = np.full(n_incidents, -1, dtype=np.int64)
    first = np.flatnonzero(reps.rank == 0)
    position[reps.incident[first]] = first
    return position


@dataclass
class Tally:
    """Counts accumulated over the windows, for the truth file."""

    incidents: IntArray
    reported: IntArray
    reports: IntArray
    #: Days each commune's reported incidents were open (first report to closing or "now").
    exposure_days: npt.NDArray[np.float64]
    #: Reports after the first one within those windows.
    further_reports: IntArray
    duplicates: int = 0
    category_incidents: dict[str, int] = field(default_factory=dict)
    category_reports: dict[str, int] = field(default_factory=dict)

    @classmethod
    def empty(cls, n_communes: int) -> Tally:
        zeros = np.zeros(n_communes, dtype=np.int64)
        return cls(zeros.copy(), zeros.copy(), zeros.copy(), np.zeros(n_communes), zeros.copy())


class HistoryWriter:
    """Appends windows to the reports and incidents files and keeps the tallies."""

    def __init__(self, world: World, reports: IO[str], incidents: IO[str], id_prefix: str) -> None:
        self.world = world
        self.reports_file = reports
        self.incidents_file = incidents
        self.id_prefix = id_prefix
        self.rows = 0
        self.incident_count = 0
        self.tally = Tally.empty(len(world.communes))
        self.codes = np.array(world.codes, dtype=object)
        self.commune_codes = np.array([c.code for c in world.communes], dtype=object)
        self.settings = np.array([c.setting for c in world.communes], dtype=object)
        self.anchor_keys = np.array([a.key for a in world.anchors] + [""], dtype=object)
        self.rate_text = np.array([f"{rate:.6f}" for rate in world.rate], dtype=object)
        # Times run from the start to "now" (the end); one spare day for safety.
        self.time_text = TimeText(world.start_s, world.n_days + 2)
        reports.write(",".join(COLUMNS) + "\n")
        incidents.write(",".join(INCIDENT_COLUMNS) + "\n")

    def write(self, found: Incidents, reps: Reports) -> int:
        """Write one window; return the number of report rows written."""
        ids = public_ids(self.id_prefix, self.rows + 1, len(reps.created))
        original = _originals(reps, len(found.commune))
        observed = np.bincount(reps.incident, minlength=len(found.commune))
        self._write_reports(reps, ids, original)
        self._write_incidents(found, observed)
        self._count(found, reps, observed)
        self.rows += len(reps.created)
        self.incident_count += len(found.commune)
        return len(reps.created)

    def _write_reports(self, reps: Reports, ids: npt.NDArray[np.object_], original: IntArray
                       ) -> None:
        outcome = reps.outcome
        duplicate_of = np.where(reps.rank > 0, ids[original[reps.incident]], "")
        columns = {
            "public_id": plain(ids),
            "created_at": self.time_text(reps.created),
            "category": plain(self.codes[reps.category]),
            "description": quoted(reps.description),
            "channel": plain(np.array(CHANNELS, dtype=object)[reps.channel]),
            "lat": decimals(reps.lat),
            "lon": decimals(reps.lon),
            "location_source": plain(np.array(LOCATION_SOURCES, dtype=object)[reps.location_source]),
            "address": quoted(reps.address),
            "reporter_name": quoted(reps.reporter_name),
            "reporter_phone": plain(reps.reporter_phone),
            "reporter_email": plain(reps.reporter_email),
            "status": plain(outcome.status),
            "first_response_at": self.time_text(outcome.first_response),
            "resolved_at": self.time_text(outcome.resolved),
            "closed_at": self.time_text(outcome.closed),
            "satisfaction": plain(_SATISFACTION[outcome.satisfaction]),
            "duplicate_of": plain(duplicate_of),
            "media_urls": plain(texts.media_urls(ids, reps.photos)),
            "incident_id": integers(self.incident_count + reps.incident + 1),
        }
        write_rows(self.reports_file, [columns[name] for name in COLUMNS])

    def _write_incidents(self, found: Incidents, observed: IntArray) -> None:
        first = self.incident_count + 1
        columns = {
            "incident_id": integers(np.arange(first, first + len(found.commune))),
            "occurred_at": self.time_text(found.occurred),
            "commune_code": plain(self.commune_codes[found.commune]),
            "setting": plain(self.settings[found.commune]),
            "category": plain(self.codes[found.category]),
            "lon": decimals(found.lon),
            "lat": decimals(found.lat),
            "cluster": plain(self.anchor_keys[found.anchor]),
            "reports_per_day": plain(self.rate_text[found.commune]),
            "first_report_at": self.time_text(_before(found.first_report, self.world.now_s)),
            "closes_at": self.time_text(_before(np.where(
                found.first_report == MISSING, MISSING, found.closes), self.world.now_s)),
            "reports_drawn": integers(found.drawn),
            "reports_observed": integers(observed),
        }
        write_rows(self.incidents_file, [columns[name] for name in INCIDENT_COLUMNS])

    def _count(self, found: Incidents, reps: Reports, observed: IntArray) -> None:
        n = len(self.world.communes)
        tally = self.tally
        tally.incidents += np.bincount(found.commune, minlength=n)
        tally.reported += np.bincount(found.commune[observed > 0], minlength=n)
        tally.reports += np.bincount(found.commune[reps.incident], minlength=n)
        tally.duplicates += int((reps.rank > 0).sum())
        seen = observed > 0
        ends = np.minimum(found.closes[seen], self.world.now_s)
        tally.exposure_days += np.bincount(found.commune[seen], weights=(
            ends - found.first_report[seen]) / DAY, minlength=n)
        tally.further_reports += np.bincount(found.commune[seen], weights=observed[seen] - 1,
                                             minlength=n).astype(np.int64)
        for k, code in enumerate(self.world.codes):
            tally.category_incidents[code] = (tally.category_incidents.get(code, 0)
                                              + int((found.category == k).sum()))
            tally.category_reports[code] = (tally.category_reports.get(code, 0)
                                            + int((reps.category == k).sum()))


def _before(seconds: IntArray, now: int) -> IntArray:
    """Times at or after "now" are not known yet (MISSING)."""
    return np.where(seconds < now, seconds, MISSING)


def _weighted(values: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]
              ) -> float | None:
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else None


def _setting_summary(world: World, tally: Tally, rural: bool) -> dict[str, Any]:
    members = world.rural == rural
    incidents = tally.incidents[members]
    rates = world.rate[members]
    total = int(incidents.sum())
    reports = int(tally.reports[members].sum())
    return {
        "communes": int(members.sum()),
        "population": int(sum(c.population for c, m in zip(world.communes, members, strict=True)
                              if m)),
        "reports_per_day_parameter": world.params.reports_per_day(rural),
        # What a pooled Poisson regression with exposure estimates: the communes' rates
        # weighted by the days their reported incidents were observed open.
        "reports_per_day": _weighted(rates, tally.exposure_days[members]),
        "reports_per_day_incident_weighted": _weighted(rates, incidents.astype(float)),
        "exposure_days": round(float(tally.exposure_days[members].sum()), 3),
        "further_reports": int(tally.further_reports[members].sum()),
        # Realised reports per incident (reported or not): what a count model of group sizes
        # (the zero-truncated Poisson) is after.
        "reports_per_incident": reports / total if total else None,
        "incidents": total,
        "incidents_reported": int(tally.reported[members].sum()),
        "reports": reports,
    }


def truth(world: World, tally: Tally, *, seed: int, count: int, files: dict[str, str]
          ) -> dict[str, Any]:
    """The truth document (deterministic for a seed: no timings in it)."""
    return {
        "generator": "gis_service.synthetic.generator",
        "version": 2,
        "seed": seed,
        "count_requested": count,
        "start": world.start.isoformat(),
        "end": (world.start.fromordinal(world.start.toordinal() + world.n_days)).isoformat(),
        "files": files,
        "model": {
            "reports": "poisson process in time",
            "description": (
                "While an incident of commune c is open, residents report it as a Poisson "
                "process of rate reports_per_day[c] (the same for every category). The first "
                "report comes after an Exponential(rate) delay unless the incident ends by "
                "itself first (Exponential, mean unreported_lifetime_days): then nobody ever "
                "reports it. Once reported, it stays open until the original report's handling "
                "closes it (closes_at: its resolution, or its answer if rejected); further "
                "reports arrive at the same rate over [first_report_at, closes_at), so their "
                "number is Poisson(rate x open days). Reports after 'end' are cut "
                "(reports_observed <= reports_drawn in the incidents file); exposure_days "
                "counts the open days observed before 'end'. 1 / rate is the expected delay "
                "before the first report, in days."
            ),
            "rates_vary_by": ["commune"],
        },
        "parameters": world.params.as_dict(),
        "categories": list(world.codes),
        "clusters": [{"key": a.key, "landmark": a.landmark, "kind": a.kind, "lon": a.lon,
                      "lat": a.lat, "sigma_m": a.sigma_m, "weight": a.weight}
                     for a in world.anchors],
        "totals": {
            "incidents": int(tally.incidents.sum()),
            "incidents_reported": int(tally.reported.sum()),
            "reports": int(tally.reports.sum()),
            "duplicates": tally.duplicates,
            "expected_incidents": round(world.expected_incidents, 3),
        },
        "settings": {"urban": _setting_summary(world, tally, False),
                     "rural": _setting_summary(world, tally, True)},
        "category_totals": {code: {"incidents": tally.category_incidents.get(code, 0),
                                   "reports": tally.category_reports.get(code, 0)}
                            for code in world.codes},
        "communes": [
            {"code": c.code, "name": c.name, "setting": c.setting, "population": c.population,
             "reports_per_day": round(float(world.rate[i]), 6),
             "expected_delay_days": round(1.0 / float(world.rate[i]), 6),
             "incidents": int(tally.incidents[i]), "incidents_reported": int(tally.reported[i]),
             "reports": int(tally.reports[i]),
             "exposure_days": round(float(tally.exposure_days[i]), 3),
             "further_reports": int(tally.further_reports[i])}
            for i, c in enumerate(world.communes)
        ],
    }


def write_truth(path: Path, document: dict[str, Any]) -> None:
    with path.open("w", encoding=ENCODING) as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
