"""Where incidents happen: uniform points in commune polygons, Gaussian clusters around Huế's
busy places, and the small offsets between an incident and each report of it.

All coordinates are lon/lat degrees; offsets given in metres are turned into degrees with a
local equirectangular scale (exact to well under 1% over a few hundred metres).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
METRES_PER_DEGREE = 111_320.0
# Rejection sampling draws this many times the expected need, so one round nearly always does.
_OVERDRAW = 1.3


@dataclass(frozen=True)
class Anchor:
    """A busy place around which incidents cluster. Coordinates are approximate (placed by
    hand from general knowledge of the city, to within a few hundred metres)."""

    key: str
    landmark: str  # as a resident would name it in an address: "chợ Đông Ba"
    kind: str  # a key of ``mix.ANCHOR_MIX``
    lon: float
    lat: float
    sigma_m: float
    weight: float


ANCHORS: tuple[Anchor, ...] = (
    Anchor("dong_ba_market", "chợ Đông Ba", "market", 107.5880, 16.4740, 150, 3.0),
    Anchor("an_cuu_market", "chợ An Cựu", "market", 107.6000, 16.4590, 150, 1.5),
    Anchor("ben_ngu_market", "chợ Bến Ngự", "market", 107.5850, 16.4580, 120, 1.2),
    Anchor("tay_loc_market", "chợ Tây Lộc", "market", 107.5660, 16.4780, 120, 1.0),
    Anchor("phu_bai_market", "chợ Phú Bài", "market", 107.7050, 16.4010, 150, 0.8),
    Anchor("tu_ha_market", "chợ Tứ Hạ", "market", 107.4660, 16.5330, 150, 0.5),
    Anchor("le_loi_pham_ngu_lao", "phố Phạm Ngũ Lão", "tourist", 107.5930, 16.4690, 200, 2.5),
    Anchor("citadel", "Đại Nội", "heritage", 107.5780, 16.4690, 400, 1.5),
    Anchor("thien_mu_pagoda", "chùa Thiên Mụ", "heritage", 107.5450, 16.4530, 200, 0.5),
    Anchor("tu_duc_tomb", "lăng Tự Đức", "heritage", 107.5640, 16.4330, 200, 0.4),
    Anchor("quoc_hoc_school", "trường Quốc Học", "school", 107.5870, 16.4630, 120, 0.8),
    Anchor("hue_station", "ga Huế", "transport", 107.5780, 16.4560, 150, 0.8),
    Anchor("southern_bus_station", "bến xe phía Nam", "transport", 107.6030, 16.4470, 150, 0.6),
    Anchor("thuan_an_beach", "bãi biển Thuận An", "beach", 107.6330, 16.5600, 300, 1.0),
    Anchor("lang_co_beach", "bãi biển Lăng Cô", "beach", 108.0710, 16.2450, 300, 0.6),
)


def metres_to_degrees(dx_m: FloatArray, dy_m: FloatArray, lat: FloatArray | float
                      ) -> tuple[FloatArray, FloatArray]:
    """East/north offsets in metres to lon/lat degrees at latitude ``lat``."""
    dlat = dy_m / METRES_PER_DEGREE
    dlon = dx_m / (METRES_PER_DEGREE * np.cos(np.radians(lat)))
    return dlon, dlat


class Territory:
    """The communes' polygons, prepared for sampling points and for finding a point's commune."""

    def __init__(self, polygons: Sequence[BaseGeometry]) -> None:
        self.polygons = np.array(polygons, dtype=object)
        shapely.prepare(self.polygons)
        self.bounds = shapely.bounds(self.polygons)
        box_area = (self.bounds[:, 2] - self.bounds[:, 0]) * (self.bounds[:, 3] - self.bounds[:, 1])
        self.fill = shapely.area(self.polygons) / box_area
        self.tree = shapely.STRtree(self.polygons)

    def uniform_in(self, rng: np.random.Generator, index: int, n: int
                   ) -> tuple[FloatArray, FloatArray]:
        """``n`` points uniform in commune ``index`` (rejection sampling in its bounding box)."""
        west, south, east, north = self.bounds[index]
        lon_parts: list[FloatArray] = []
        lat_parts: list[FloatArray] = []
        have = 0
        while have < n:
            draw = math.ceil((n - have) / self.fill[index] * _OVERDRAW) + 8
            lon = rng.uniform(west, east, draw)
            lat = rng.uniform(south, north, draw)
            keep = shapely.contains_xy(self.polygons[index], lon, lat)
            lon_parts.append(lon[keep])
            lat_parts.append(lat[keep])
            have += int(keep.sum())
        return np.concatenate(lon_parts)[:n], np.concatenate(lat_parts)[:n]

    def locate(self, lon: FloatArray, lat: FloatArray) -> IntArray:
        """Index of the commune containing each point, -1 outside them all (on a shared
        boundary, the lower index)."""
        found = np.full(len(lon), -1, dtype=np.int64)
        if len(lon) == 0:
            return found
        point_idx, poly_idx = self.tree.query(shapely.points(lon, lat), predicate="intersects")
        order = np.lexsort((poly_idx, point_idx))
        points, first = np.unique(point_idx[order], return_index=True)
        found[points] = poly_idx[order][first]
        return found

    def inside(self, commune: IntArray, lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether each point lies in the given commune (or on its boundary)."""
        return np.asarray(shapely.intersects_xy(self.polygons[commune], lon, lat), dtype=bool)


def cluster_points(rng: np.random.Generator, territory: Territory, anchor: Anchor, n: int
                   ) -> tuple[FloatArray, FloatArray, IntArray]:
    """``n`` points in a Gaussian cluster around ``anchor`` and their communes; points that
    fall outside every commune (in the sea or the lagoon) are drawn again."""
    lons: list[FloatArray] = []
    lats: list[FloatArray] = []
    communes: list[IntArray] = []
    have = 0
    while have < n:
        draw = math.ceil((n - have) * _OVERDRAW) + 8
        dlon, dlat = metres_to_degrees(rng.normal(0, anchor.sigma_m, draw),
                                       rng.normal(0, anchor.sigma_m, draw), anchor.lat)
        lon, lat = anchor.lon + dlon, anchor.lat + dlat
        where = territory.locate(lon, lat)
        keep = where >= 0
        lons.append(lon[keep])
        lats.append(lat[keep])
        communes.append(where[keep])
        have += int(keep.sum())
    return np.concatenate(lons)[:n], np.concatenate(lats)[:n], np.concatenate(communes)[:n]


def jitter(rng: np.random.Generator, territory: Territory, *, commune: IntArray, lon: FloatArray,
           lat: FloatArray, sigma_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Move each point by a Gaussian offset of ``sigma_m`` metres; a point that would leave
    its incident's commune stays where it was.

    Keeping reports in their incident's commune means snapping finds the commune whose true
    rate the truth file states, so per-commune estimates are not blurred by neighbours (a
    report near a boundary still lies near it, and is flagged as such by the importer).
    """
    dlon, dlat = metres_to_degrees(rng.normal(0, 1, len(lon)) * sigma_m,
                                   rng.normal(0, 1, len(lon)) * sigma_m, lat)
    moved_lon, moved_lat = lon + dlon, lat + dlat
    keep = territory.inside(commune, moved_lon, moved_lat)
    return np.where(keep, moved_lon, lon), np.where(keep, moved_lat, lat)
