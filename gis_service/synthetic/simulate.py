"""One window of time: its incidents, then the residents' reports of them, then outcomes.

Everything is drawn as whole arrays from the window's own random stream, so a window's
result depends only on the seed and the window, and memory is bounded by the window's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gis_service.synthetic import lifecycle, places, seasons, texts
from gis_service.synthetic.lifecycle import Outcome
from gis_service.synthetic.world import DAY, Window, World

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]
HOUR = 3600
APP, WEB, HOTLINE = 0, 1, 2
CHANNELS = ("app", "web", "hotline")
GPS, GEOCODED, MANUAL = 0, 1, 2
LOCATION_SOURCES = ("gps", "geocoded", "manual")


@dataclass(frozen=True)
class Incidents:
    """A window's incidents in time order; ``anchor`` is -1 for background incidents.

    ``first_report`` is when the first resident reports it (:data:`lifecycle.MISSING` if
    nobody does before it ends by itself), ``closes`` when the original report's handling
    ends it (residents stop reporting), ``drawn`` how many reports the model drew (0, or the
    original and its duplicates; some may fall after "now"), ``timeline`` the original's
    candidate lifecycle."""

    occurred: IntArray
    commune: IntArray
    category: IntArray
    anchor: IntArray
    lon: FloatArray
    lat: FloatArray
    first_report: IntArray
    closes: IntArray
    drawn: IntArray
    timeline: lifecycle.Timeline


@dataclass(frozen=True)
class Reports:
    """A window's reports in time order; ``incident`` indexes the window's incidents, ``rank``
    is 0 for the original (first) report of its incident."""

    incident: IntArray
    rank: IntArray
    created: IntArray
    category: IntArray
    channel: IntArray
    location_source: IntArray
    lon: FloatArray
    lat: FloatArray
    address: ObjectArray
    description: ObjectArray
    reporter_name: ObjectArray
    reporter_phone: ObjectArray
    reporter_email: ObjectArray
    photos: IntArray
    outcome: Outcome


@dataclass(frozen=True)
class _Placed:
    """Incidents placed in space: where, in which commune, of which category, near which
    anchor (-1: none)."""

    lon: FloatArray
    lat: FloatArray
    commune: IntArray
    category: IntArray
    anchor: IntArray

    def take(self, order: IntArray) -> _Placed:
        return _Placed(*(getattr(self, name)[order] for name in self.__dataclass_fields__))

    @classmethod
    def join(cls, parts: list[_Placed]) -> _Placed:
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return cls(np.empty(0), np.empty(0), empty, empty, empty)
        return cls(*(np.concatenate([getattr(p, name) for p in parts])
                     for name in cls.__dataclass_fields__))


def _categories(counts: IntArray) -> IntArray:
    """Category indexes, each repeated its count of times."""
    return np.repeat(np.arange(len(counts)), counts).astype(np.int64)


def _place_background(world: World, rng: np.random.Generator, counts: IntArray) -> _Placed:
    """Uniform points in each commune (``counts``: commune x category)."""
    parts = []
    for index in np.flatnonzero(counts.sum(axis=1)):
        n = int(counts[index].sum())
        lon, lat = world.territory.uniform_in(rng, int(index), n)
        parts.append(_Placed(lon, lat, np.full(n, index, dtype=np.int64), _categories(counts[index]),
                             np.full(n, -1, dtype=np.int64)))
    return _Placed.join(parts)


def _place_clusters(world: World, rng: np.random.Generator, counts: IntArray) -> _Placed:
    """Gaussian clusters around each anchor (``counts``: anchor x category)."""
    parts = []
    for index in np.flatnonzero(counts.sum(axis=1)):
        n = int(counts[index].sum())
        lon, lat, commune = places.cluster_points(rng, world.territory, world.anchors[index], n)
        parts.append(_Placed(lon, lat, commune, _categories(counts[index]),
                             np.full(n, index, dtype=np.int64)))
    return _Placed.join(parts)


def _days(world: World, rng: np.random.Generator, window: Window, category: IntArray) -> IntArray:
    """A day for each incident, following its category's seasonal profile inside the window."""
    day = np.empty(len(category), dtype=np.int64)
    profile = world.daily[window.first_day:window.end_day]
    for k in np.unique(category):
        where = np.flatnonzero(category == k)
        cdf = np.cumsum(profile[:, k])
        u = rng.random(len(where)) * cdf[-1]
        day[where] = window.first_day + np.minimum(np.searchsorted(cdf, u, side="right"),
                                                   len(cdf) - 1)
    return day


def _first_reports(world: World, rng: np.random.Generator, placed: _Placed,
                   occurred: IntArray) -> IntArray:
    """Residents report an open incident at the commune's rate (a Poisson process): the first
    report comes after an exponential delay, unless the incident ends by itself before."""
    rate = world.rate[placed.commune]
    delay = rng.exponential(1.0 / rate)
    lifetime = rng.exponential(world.params.unreported_lifetime_days, len(rate))
    first = occurred + (DAY * delay).astype(np.int64)
    return np.where(delay < lifetime, first, lifecycle.MISSING)


def incidents(world: World, rng: np.random.Generator, window: Window) -> Incidents:
    """The window's incidents: Poisson counts per commune/cluster and category, placed in
    space and time (sorted by time), their first report, the original's lifecycle, and the
    number of further reports over the incident's open window."""
    mass = world.daily[window.first_day:window.end_day].sum(axis=0)
    placed = _Placed.join([
        _place_background(world, rng, rng.poisson(world.background_mean * mass)),
        _place_clusters(world, rng, rng.poisson(world.cluster_mean * mass)),
    ])
    occurred = (world.start_s + DAY * _days(world, rng, window, placed.category)
                + seasons.seconds_of_day(rng, len(placed.category)))
    order = np.argsort(occurred, kind="stable")
    placed, occurred = placed.take(order), occurred[order]
    first = _first_reports(world, rng, placed, occurred)
    reported = first != lifecycle.MISSING
    drawn_timeline = lifecycle.timeline(
        rng, created=np.where(reported, first, occurred), category=placed.category,
        rural=world.rural[placed.commune], profiles=world.profiles, params=world.params)
    closes = drawn_timeline.incident_closes
    open_days = np.where(reported, (closes - first) / DAY, 0.0)
    further = rng.poisson(world.rate[placed.commune] * open_days)
    drawn = np.where(reported, 1 + further, 0).astype(np.int64)
    return Incidents(occurred, placed.commune, placed.category, placed.anchor, placed.lon,
                     placed.lat, np.where(reported, first, lifecycle.MISSING), closes, drawn,
                     drawn_timeline)


def _channels(world: World, rng: np.random.Generator, rural: BoolArray) -> IntArray:
    params = world.params
    shares = np.where(rural[:, None], np.array(params.rural_channels),
                      np.array(params.urban_channels))
    cumulative = np.cumsum(shares / shares.sum(axis=1, keepdims=True), axis=1)
    channel: IntArray = (rng.random(len(rural))[:, None] > cumulative[:, :-1]).sum(axis=1)
    return channel.astype(np.int64)


def _location_sources(rng: np.random.Generator, channel: IntArray) -> IntArray:
    """Apps send GPS (a few residents move the pin by hand); the web portal and the hotline
    operators mostly type an address the geocoder places, sometimes click the map."""
    u = rng.random(len(channel))
    return np.select(
        [channel == APP, channel == WEB],
        [np.where(u < 0.95, GPS, MANUAL), np.where(u < 0.60, GEOCODED, MANUAL)],
        np.where(u < 0.75, GEOCODED, MANUAL),
    ).astype(np.int64)


def _contacts(world: World, rng: np.random.Generator, found: Incidents, *, incident: IntArray,
              rank: IntArray, channel: IntArray) -> tuple[ObjectArray, ObjectArray, ObjectArray]:
    """Reporters live in the incident's commune; frequent reporters are favoured (the square
    of a uniform draw), and the residents reporting one incident are all different people.
    Every report can be answered: calls and app accounts have a phone, web forms an e-mail."""
    commune = found.commune[incident]
    pool = world.reporter_pool[commune]
    first = (pool * rng.random(len(found.commune))[incident] ** 2).astype(np.int64)
    reporter = world.reporter_offset[commune] + (first + rank) % pool
    n = len(channel)
    u_name, u_phone, u_email = rng.random(n), rng.random(n), rng.random(n)
    has_name = u_name < np.select([channel == APP, channel == WEB], [0.85, 0.80], 0.70)
    has_phone = (channel != WEB) | (u_phone < 0.40)
    has_email = (channel == WEB) | ((channel == APP) & (u_email < 0.30))
    people = world.reporters
    return (np.where(has_name, people.names[reporter], ""),
            np.where(has_phone, people.phones[reporter], ""),
            np.where(has_email, people.emails[reporter], ""))


def _report_times(rng: np.random.Generator, found: Incidents
                  ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Every drawn report: its incident, rank (0 the original), time, and whether it is a
    duplicate. Given their number, a Poisson process's events in the open window
    (first report, closing) are uniform in it."""
    originals = np.flatnonzero(found.drawn > 0)
    further = np.maximum(found.drawn - 1, 0)
    later = np.repeat(np.arange(len(found.drawn)), further)
    rank = 1 + np.arange(len(later)) - np.repeat(np.cumsum(further) - further, further)
    span = (found.closes - found.first_report)[later]
    at = found.first_report[later] + (rng.random(len(later)) * span).astype(np.int64)
    return (np.concatenate([originals, later]),
            np.concatenate([np.zeros(len(originals), dtype=np.int64), rank]).astype(np.int64),
            np.concatenate([found.first_report[originals], at]),
            originals)


def _jitter_sigma(world: World, source: IntArray) -> FloatArray:
    params = world.params
    return np.select([source == GPS, source == MANUAL],
                     [params.jitter_gps_m, params.jitter_manual_m], params.jitter_geocoded_m)


def _addresses(world: World, rng: np.random.Generator, found: Incidents, *, incident: IntArray,
               created: IntArray, source: IntArray) -> ObjectArray:
    """Typed addresses for geocoded and manual reports and a quarter of GPS ones; after the
    reform most residents use the new ward's name."""
    commune = found.commune[incident]
    new_names = (created >= world.reform_s) & (rng.random(len(created)) < 0.6)
    written = texts.addresses(rng, world.book, commune=commune, rural=world.rural[commune],
                              new_names=new_names,
                              landmark=world.landmarks[found.anchor[incident]])
    typed = (source != GPS) | (rng.random(len(created)) < 0.25)
    return np.where(typed, written, "")


def reports(world: World, rng: np.random.Generator, found: Incidents) -> Reports:
    """Each incident's reports (``drawn`` of them, those before "now" kept), in time order."""
    incident, rank, created, originals = _report_times(rng, found)
    order = _kept_in_time_order(created, world.now_s)
    outcome = lifecycle.Outcome.join(
        lifecycle.originals(found.timeline.take(originals), world.now_s),
        lifecycle.duplicates(rng, created[len(originals):], world.now_s), order)
    incident, rank, created = incident[order], rank[order], created[order]
    category = found.category[incident]
    rural = world.rural[found.commune[incident]]
    channel = _channels(world, rng, rural)
    source = _location_sources(rng, channel)
    lon, lat = places.jitter(rng, world.territory, commune=found.commune[incident],
                             lon=found.lon[incident], lat=found.lat[incident],
                             sigma_m=_jitter_sigma(world, source))
    name, phone, email = _contacts(world, rng, found, incident=incident, rank=rank,
                                   channel=channel)
    return Reports(
        incident=incident, rank=rank, created=created, category=category, channel=channel,
        location_source=source, lon=lon, lat=lat,
        address=_addresses(world, rng, found, incident=incident, created=created, source=source),
        description=texts.descriptions(rng, world.codes, category),
        reporter_name=name, reporter_phone=phone, reporter_email=email,
        photos=texts.photo_counts(rng, channel), outcome=outcome,
    )


def _kept_in_time_order(created: IntArray, now: int) -> IntArray:
    """Rows made before "now", in time order."""
    kept = np.flatnonzero(created < now)
    order: IntArray = kept[np.argsort(created[kept], kind="stable")]
    return order
