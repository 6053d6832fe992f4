"""Everything fixed for one run of the generator: places, rates, categories and the calendar.

Built once from the communes, the parameters and the run's first random stream; the windows
of time then simulate against it (:mod:`gis_service.synthetic.simulate`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

from gis_service import gazetteer
from gis_service.coords import LonLat
from gis_service.synthetic import mix, seasons
from gis_service.synthetic.mix import CategoryProfile
from gis_service.synthetic.params import GeneratorParams
from gis_service.synthetic.places import ANCHORS, Anchor, Territory
from gis_service.synthetic.texts import AddressBook, Reporters, place_names

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DAY = 86400
EPOCH = dt.date(1970, 1, 1)
#: The two-tier reform: from this day residents may use the new wards' names.
REFORM_DAY = dt.date(2025, 7, 1)
#: Windows are at most a month, and hold about this many incidents (bounds memory per chunk).
MAX_WINDOW_DAYS = 31
WINDOW_INCIDENTS = 60_000
MIN_REPORTERS = 50


@dataclass(frozen=True)
class Commune:
    """A commune as the generator sees it (from :func:`gis_service.synthetic.generator.load_communes`)."""

    code: str
    name: str
    setting: str  # "urban" or "rural"
    population: int
    polygon: BaseGeometry
    district_code: str | None = None
    district_name: str | None = None


@dataclass(frozen=True)
class Window:
    """Days ``first_day`` (inclusive) to ``end_day`` (exclusive), counted from the start."""

    first_day: int
    end_day: int


@dataclass(frozen=True)
class World:
    codes: tuple[str, ...]
    profiles: tuple[CategoryProfile, ...]
    params: GeneratorParams
    communes: tuple[Commune, ...]
    territory: Territory
    rural: BoolArray
    #: True reporting rate of each commune: reports per day while an incident is open.
    rate: FloatArray
    anchors: tuple[Anchor, ...]
    #: Each anchor's landmark, then "" (so index -1, "no anchor", gives "").
    landmarks: npt.NDArray[np.object_]
    start: dt.date
    n_days: int
    start_s: int
    now_s: int
    reform_s: int
    daily: FloatArray
    #: Expected incidents over the whole period: (communes, categories), (anchors, categories).
    background_mean: FloatArray
    cluster_mean: FloatArray
    windows: tuple[Window, ...]
    book: AddressBook
    reporters: Reporters
    reporter_offset: IntArray
    reporter_pool: IntArray

    @property
    def expected_incidents(self) -> float:
        return float(self.background_mean.sum() + self.cluster_mean.sum())


def local_seconds(day: dt.date) -> int:
    """Midnight of ``day`` on Vietnam's clock, in seconds since 1970-01-01 on the same clock."""
    return (day - EPOCH).days * DAY


def commune_rates(rng: np.random.Generator, rural: BoolArray, params: GeneratorParams
                   ) -> FloatArray:
    """Setting rate times a mean-one log-normal factor per commune."""
    base = np.where(rural, params.rural_reports_per_day, params.urban_reports_per_day)
    sigma = params.commune_rate_sigma
    return np.asarray(base * np.exp(sigma * rng.standard_normal(len(rural)) - sigma**2 / 2))


def _anchors_inside(territory: Territory) -> tuple[tuple[Anchor, ...], IntArray]:
    """The anchors lying in one of the communes, and those communes (others are dropped: a
    cluster needs land around its centre)."""
    where = territory.locate(np.array([a.lon for a in ANCHORS]), np.array([a.lat for a in ANCHORS]))
    keep = where >= 0
    return tuple(a for a, k in zip(ANCHORS, keep, strict=True) if k), where[keep]


def expected_window_days(profiles: Sequence[CategoryProfile], rural: BoolArray,
                         params: GeneratorParams) -> FloatArray:
    """Mean days from an incident's first report to its closing, per (commune, category):
    the log-normal means of response and resolution (a rejected report ends at the answer)."""
    response_d = np.array([p.response_hours for p in profiles]) / 24.0
    resolution_d = np.array([p.resolution_days for p in profiles])
    rural_col = rural[:, None]
    response = (response_d * np.where(rural_col, params.rural_response_factor, 1.0)
                * math.exp(params.response_sigma**2 / 2))
    resolution = (resolution_d * np.where(rural_col, params.rural_resolution_factor, 1.0)
                  * math.exp(params.resolution_sigma**2 / 2))
    return np.asarray(response + (1 - params.rejected_share) * resolution)


def expected_reports(rate: FloatArray, window_days: FloatArray, params: GeneratorParams
                     ) -> FloatArray:
    """Expected reports per incident: reported at all (the first report comes before the
    incident ends by itself: rate / (rate + 1 / lifetime)), then 1 + rate x window."""
    reported = rate / (rate + 1.0 / params.unreported_lifetime_days)
    return np.asarray(reported[:, None] * (1.0 + rate[:, None] * window_days))


def _incident_means(communes: Sequence[Commune], *, rural: BoolArray, rate: FloatArray,
                    anchors: Sequence[Anchor], anchor_commune: IntArray,
                    profiles: Sequence[CategoryProfile], params: GeneratorParams, count: int
                    ) -> tuple[FloatArray, FloatArray]:
    """Expected incidents per (commune, category) and (anchor, category), scaled so that the
    expected number of reports is ``count``."""
    population = np.array([max(c.population, 0) for c in communes], dtype=np.float64)
    per_capita = np.where(rural, 1.0, params.urban_incident_ratio)
    commune_share = population * per_capita / (population * per_capita).sum()
    anchor_share = np.array([a.weight for a in anchors]) / max(sum(a.weight for a in anchors), 1e-12)
    cluster_share = params.cluster_share if anchors else 0.0
    weights = mix.setting_weights(profiles)
    background = (1 - cluster_share) * commune_share[:, None] * weights[rural.astype(np.int64)]
    cluster = np.array([cluster_share * share * mix.anchor_weights(profiles, a.kind)
                        for a, share in zip(anchors, anchor_share, strict=True)])
    cluster = cluster.reshape(len(anchors), len(profiles))
    per_incident = expected_reports(rate, expected_window_days(profiles, rural, params), params)
    # A cluster's incidents are counted at its centre's commune (their spread reaches
    # neighbours of similar rates).
    reports_per_incident = ((background * per_incident).sum()
                            + (cluster * per_incident[anchor_commune]).sum())
    incidents = count / reports_per_incident
    return incidents * background, incidents * cluster


def _windows(n_days: int, expected_incidents: float) -> tuple[Window, ...]:
    count = max(math.ceil(n_days / MAX_WINDOW_DAYS), math.ceil(expected_incidents / WINDOW_INCIDENTS))
    edges = np.linspace(0, n_days, min(count, n_days) + 1).round().astype(int)
    return tuple(Window(int(a), int(b)) for a, b in itertools.pairwise(edges))


def _links(communes: Sequence[Commune]) -> Mapping[str, gazetteer.CommuneLink]:
    old = tuple(
        gazetteer.OldCommune(c.code, c.name, c.district_code or "",
                             LonLat(c.polygon.representative_point().x,
                                    c.polygon.representative_point().y))
        for c in communes
    )
    try:
        return gazetteer.commune_2019_to_2025(old)
    except LookupError:
        # Communes the gazetteer cannot place keep their own names throughout.
        return {}


def _address_book(communes: Sequence[Commune]) -> AddressBook:
    """Names as written before the reform (the gazetteer's pre-2025 spelling) and after it
    (the 2025 ward, in the city of Huế)."""
    links = _links(communes)
    legacy = {c.code: c.name for c in gazetteer.legacy_communes()}
    wards = {w.code: w.name for w in gazetteer.wards_2025()}
    city = gazetteer.province().name
    old, new = [], []
    for commune in communes:
        link = links.get(commune.code)
        placed = link is not None and link.method != "nearest"
        old_name = legacy.get(link.legacy_code, commune.name) if placed and link else commune.name
        new_name = wards.get(link.ward_code, commune.name) if placed and link else commune.name
        old.append(place_names(old_name, commune.district_name or city))
        new.append(place_names(new_name, city))
    return AddressBook(old, new)


def build_world(communes: Sequence[Commune], *, codes: Sequence[str], params: GeneratorParams,
                rng: np.random.Generator, count: int, start: dt.date, end: dt.date) -> World:
    """The fixed part of a run; ``rng`` draws the commune-level rate variation."""
    profiles = mix.profiles_for(codes)
    territory = Territory([c.polygon for c in communes])
    rural = np.array([c.setting == "rural" for c in communes])
    rate = commune_rates(rng, rural, params)
    anchors, anchor_commune = _anchors_inside(territory)
    background, cluster = _incident_means(communes, rural=rural, rate=rate, anchors=anchors,
                                          anchor_commune=anchor_commune, profiles=profiles,
                                          params=params, count=count)
    n_days = (end - start).days
    pool = np.array([max(MIN_REPORTERS, c.population // params.residents_per_reporter)
                     for c in communes], dtype=np.int64)
    return World(
        codes=tuple(codes), profiles=profiles, params=params, communes=tuple(communes),
        territory=territory, rural=rural, rate=rate, anchors=anchors,
        landmarks=np.array([a.landmark for a in anchors] + [""], dtype=object),
        start=start, n_days=n_days, start_s=local_seconds(start), now_s=local_seconds(end),
        reform_s=local_seconds(REFORM_DAY),
        daily=seasons.daily_profile(profiles, start, n_days, params),
        background_mean=background, cluster_mean=cluster,
        windows=_windows(n_days, float(background.sum() + cluster.sum())),
        book=_address_book(communes),
        reporters=Reporters.create(int(pool.sum())),
        reporter_offset=np.concatenate([[0], np.cumsum(pool)[:-1]]).astype(np.int64),
        reporter_pool=pool,
    )
