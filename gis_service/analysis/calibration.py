"""Do the reporting-rate intervals cover the truth? A seeded study on generated histories.

For each seed, the generator's reporting process (:mod:`gis_service.synthetic.arrivals`)
draws the communes' true rates and the incidents of a period; both estimators then run on
what an analyst would see (reported incidents, their reports and open windows):

- ``lbg``: :func:`gis_service.analysis.statistics.reporting_rates.poisson_rates`, the rate in
  reports per day; truth: the exposure-weighted mean of the true rates of the unit's reported
  incidents (for a single 2019 commune, its own rate);
- ``ztp``: :func:`gis_service.analysis.statistics.coverage.reporting_rates`, the zero-truncated
  Poisson of group sizes, in reports per incident; truth: the unit's realised reports per
  incident, counting the incidents nobody reported.

in the generation the truth was drawn in (the 2019 communes) and after mapping to the current
one (the 2025 wards): each incident falls in one ward, drawn by its commune's crosswalk shares
(as its point would), so a ward's truth is the exposure-weighted mean rate of the incidents it
received (for ``ztp``: their reports per incident). Units are single units and the two
settings pooled. :func:`interval_coverage` summarises the share of cases covered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from gis_service.analysis.statistics import coverage as ztp
from gis_service.analysis.statistics.reporting_rates import poisson_rates
from gis_service.synthetic.arrivals import Arrivals, simulate_arrivals
from gis_service.synthetic.params import GeneratorParams
from gis_service.synthetic.world import commune_rates

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

__all__ = ["Layout", "calibration_cases", "demo_layout", "interval_coverage"]

#: Expected reports over two years of the demo history (the generator's default count).
DEMO_INCIDENTS = 30_000.0
DEMO_DAYS = 730.0


@dataclass(frozen=True)
class Layout:
    """Communes of the generation the truth is drawn in, and the crosswalk to the current one:
    ``shares[c, w]`` is the share of commune c's incidents falling in ward w (rows sum to 1)."""

    commune_codes: tuple[str, ...]
    commune_rural: BoolArray
    population: FloatArray
    ward_codes: tuple[str, ...]
    ward_rural: BoolArray
    shares: FloatArray

    def expected_incidents(self, total: float, params: GeneratorParams) -> FloatArray:
        """Incidents in proportion to residents, more per resident in urban wards."""
        weight = self.population * np.where(self.commune_rural, 1.0, params.urban_incident_ratio)
        return np.asarray(total * weight / weight.sum())


def demo_layout(communes: int = 152, wards: int = 40, urban_share: float = 0.3,
                seed: int = 0) -> Layout:
    """A drawn layout shaped like Huế's 2019 → 2025 reform: communes merge into wards, a few
    split between two, and urban wards absorb rural communes (so a ward's setting hides a mix).

    >>> layout = demo_layout()
    >>> layout.shares.shape, bool(np.allclose(layout.shares.sum(axis=1), 1.0))
    ((152, 40), True)
    """
    rng = np.random.default_rng(seed)
    rural = np.arange(communes) >= round(urban_share * communes)
    population = np.where(rural, 7_000, 14_000) * np.exp(0.4 * rng.standard_normal(communes))
    urban_wards = round(urban_share * wards)
    # Urban communes go to urban wards; rural ones mostly to rural wards, one in ten to an
    # urban ward (the city's edge absorbed into a phường). Every ward gets a commune of its
    # own setting first.
    to_urban = ~rural | (rng.random(communes) < 0.1)
    ward = np.where(to_urban, rng.integers(0, urban_wards, communes),
                    rng.integers(urban_wards, wards, communes))
    first_urban, first_rural = np.flatnonzero(~rural)[:urban_wards], np.flatnonzero(rural)
    ward[first_urban] = np.arange(urban_wards)
    ward[first_rural[:wards - urban_wards]] = np.arange(urban_wards, wards)
    shares = np.zeros((communes, wards))
    shares[np.arange(communes), ward] = 1.0
    # A few communes split between their ward and a neighbour of the same setting.
    split = rng.random(communes) < 0.15
    group_start = np.where(ward < urban_wards, 0, urban_wards)
    group_size = np.where(ward < urban_wards, urban_wards, wards - urban_wards)
    other = group_start + (ward - group_start + 1) % group_size
    shares[split, ward[split]] = 0.7
    shares[split, other[split]] = 0.3
    return Layout(
        commune_codes=tuple(f"c{i:03d}" for i in range(communes)), commune_rural=rural,
        population=population, ward_codes=tuple(f"w{i:02d}" for i in range(wards)),
        ward_rural=np.arange(wards) >= urban_wards, shares=shares)


def _wards(rng: np.random.Generator, layout: Layout, found: Arrivals) -> npt.NDArray[np.int64]:
    """Each incident's ward, drawn from its commune's crosswalk shares."""
    cumulative = np.cumsum(layout.shares[found.commune], axis=1)
    u = rng.random(len(found.commune))[:, None]
    ward: npt.NDArray[np.int64] = np.minimum((u > cumulative).sum(axis=1),
                                             layout.shares.shape[1] - 1)
    return ward


def _unit_sums(group: npt.NDArray[np.int64], size: int, found: Arrivals, rate: FloatArray
               ) -> dict[str, FloatArray]:
    """Per unit: incidents, reported ones, their reports, further reports, open days, and the
    exposure-weighted true rate."""
    seen = found.reported

    def total(weights: FloatArray | None = None, where: BoolArray | None = None) -> FloatArray:
        mask = np.ones(len(group), dtype=bool) if where is None else where
        return np.bincount(group[mask], weights=None if weights is None else weights[mask],
                           minlength=size).astype(np.float64)

    exposure = total(found.exposure_days, seen)
    true_dup = total(rate[found.commune] * found.exposure_days, seen)
    with np.errstate(divide="ignore", invalid="ignore"):
        truth = true_dup / exposure
    return {"incidents": total(), "reported": total(where=seen),
            "reports": total(found.reports.astype(np.float64), seen),
            "further": total(found.further.astype(np.float64), seen),
            "exposure": exposure, "truth_lbg": truth}


def _rows(sums: dict[str, FloatArray], codes: Iterable[str], settings: Iterable[str],
          level: float) -> list[dict[str, object]]:
    lbg = poisson_rates(sums["further"], sums["exposure"], level)
    fitted = ztp.reporting_rates(sums["reported"], sums["reports"], level)
    with np.errstate(divide="ignore", invalid="ignore"):
        truth_ztp = sums["reports"] / sums["incidents"]
    rows: list[dict[str, object]] = []
    for i, (code, setting) in enumerate(zip(codes, settings, strict=True)):
        for name, estimate, low, high, truth in (
                ("lbg", lbg.rate, lbg.low, lbg.high, sums["truth_lbg"]),
                ("ztp", fitted.rate, fitted.low, fitted.high, truth_ztp)):
            rows.append({"unit": code, "setting": setting, "estimator": name,
                         "truth": truth[i], "estimate": estimate[i], "low": low[i],
                         "high": high[i]})
    return rows


def _generation_rows(layout: Layout, found: Arrivals, group: npt.NDArray[np.int64],
                     rate: FloatArray, level: float, *, wards: bool) -> list[dict[str, object]]:
    codes = layout.ward_codes if wards else layout.commune_codes
    rural = layout.ward_rural if wards else layout.commune_rural
    settings = np.where(rural, "rural", "urban")
    rows = [dict(row, level="unit") for row in
            _rows(_unit_sums(group, len(codes), found, rate), codes, settings, level)]
    pooled = _unit_sums(rural[group].astype(np.int64), 2, found, rate)
    rows += [dict(row, level="setting") for row in
             _rows(pooled, ("urban", "rural"), ("urban", "rural"), level)]
    return rows


def calibration_cases(layout: Layout, seeds: Iterable[int], *, params: GeneratorParams | None = None,
                      incidents: float = DEMO_INCIDENTS, days: float = DEMO_DAYS,
                      level: float = 0.95) -> pd.DataFrame:
    """One row per seed, generation (``2019`` communes, ``2025`` wards), unit (a unit or a
    setting: column ``level``) and estimator: truth, estimate, low, high, covered.

    >>> cases = calibration_cases(demo_layout(), range(2))
    >>> sorted(cases["generation"].unique()), sorted(cases["estimator"].unique())
    (['2019', '2025'], ['lbg', 'ztp'])
    """
    params = params or GeneratorParams()
    frames = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        rate = commune_rates(rng, layout.commune_rural, params)
        found = simulate_arrivals(rng, rate=rate, rural=layout.commune_rural,
                                  expected_incidents=layout.expected_incidents(incidents, params),
                                  days=days, params=params)
        for generation, group, wards in (("2019", found.commune, False),
                                         ("2025", _wards(rng, layout, found), True)):
            rows = _generation_rows(layout, found, group, rate, level, wards=wards)
            frames.append(pd.DataFrame(rows).assign(seed=seed, generation=generation))
    cases = pd.concat(frames, ignore_index=True)
    cases["covered"] = (cases["low"] <= cases["truth"]) & (cases["truth"] <= cases["high"])
    return cases


def interval_coverage(cases: pd.DataFrame) -> pd.DataFrame:
    """Share of cases whose interval holds the truth, per estimator, generation, level and
    setting, with the worst single unit's share (a unit over the seeds).

    >>> interval_coverage(calibration_cases(demo_layout(), range(2))).columns.tolist()
    ['estimator', 'generation', 'level', 'setting', 'cases', 'coverage', 'worst_unit']
    """
    keys = ["estimator", "generation", "level", "setting"]
    usable = cases.dropna(subset=["truth", "low", "high"])
    per_unit = usable.groupby([*keys, "unit"])["covered"].mean()
    worst = per_unit.groupby(level=keys).min().rename("worst_unit")
    summary = usable.groupby(keys)["covered"].agg(cases="size", coverage="mean")
    out: pd.DataFrame = summary.join(worst).reset_index()
    return out
