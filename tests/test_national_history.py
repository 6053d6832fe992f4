"""The national synthetic history (gis_service/synthetic/national.py): reports per ward and per
setting follow the population proxy, within tolerances from the sample size; every report lies
in its ward with its H3 cells right."""

from __future__ import annotations

import datetime as dt

import h3.api.basic_int as h3
import numpy as np
import pytest
from sqlalchemy import Connection, func, select

from gis_service.db.schema import H3_RESOLUTIONS, admin_unit, report
from gis_service.synthetic.national import (
    BATCH_LABEL,
    copy_history,
    h3_parents,
    load_wards,
    national_agency,
)
from gis_service.synthetic.population_proxy import PopulationProxy
from tests.factories import add_category, add_generation, add_unit, square

COUNT = 20_000
# A drawn country: urban wards small, rural communes large, areas all different.
UNITS = (("U1", "Phường", 0.01), ("U2", "Phường", 0.02), ("T1", "Thị trấn", 0.015),
         ("R1", "Xã", 0.05), ("R2", "Xã", 0.08), ("Z1", "Đặc khu", 0.03))
# Two-sided tail per check, Bonferroni over the wards: a correct draw fails one run in 10⁴.
Z = 4.4


@pytest.fixture
def drawn(conn: Connection) -> Connection:
    gen = add_generation(conn, "national-test")
    for index, (code, unit_type, size) in enumerate(UNITS):
        add_unit(conn, gen, code, square(104.0 + index * 0.2, 12.0, size), unit_type=unit_type)
    add_category(conn)
    return conn


def _within(observed: np.ndarray, expected_share: np.ndarray, n: int) -> np.ndarray:
    """Whether each count lies within Z binomial standard deviations of n x share."""
    sd = np.sqrt(n * expected_share * (1 - expected_share))
    return np.asarray(np.abs(observed - n * expected_share) <= Z * sd)


def test_reports_per_ward_and_setting_follow_the_proxy(drawn: Connection) -> None:
    wards = load_wards(drawn, "national-test")
    history = copy_history(drawn, wards, count=COUNT, agency_id=national_agency(drawn), seed=3)
    shares = wards.shares(PopulationProxy())
    stored = dict(drawn.execute(select(report.c.commune_id, func.count())
                                .where(report.c.import_batch == BATCH_LABEL)
                                .group_by(report.c.commune_id)).all())
    observed = np.array([stored.get(int(i), 0) for i in wards.ids])
    assert observed.sum() == COUNT and (observed == history.per_ward).all()
    assert _within(observed, shares, COUNT).all(), (observed, COUNT * shares)
    urban = wards.setting == "urban"
    assert _within(np.array([observed[urban].sum()]), np.array([shares[urban].sum()]), COUNT).all()
    # The check can fail: equal shares (the proxy ignored) are far outside the tolerance.
    equal = np.full(len(wards.ids), 1 / len(wards.ids))
    assert not _within(observed, equal, COUNT).all()


def test_each_report_lies_in_its_ward_with_its_cells(drawn: Connection) -> None:
    wards = load_wards(drawn, "national-test")
    copy_history(drawn, wards, count=2_000, agency_id=national_agency(drawn), seed=4,
                 start=dt.date(2025, 12, 1), end=dt.date(2026, 2, 1))
    outside = drawn.execute(select(func.count()).select_from(report)
                            .join(admin_unit, admin_unit.c.id == report.c.commune_id)
                            .where(~func.ST_Covers(admin_unit.c.geom, report.c.geom),
                                   report.c.import_batch == BATCH_LABEL)).scalar_one()
    assert outside == 0
    rows = drawn.execute(select(func.ST_X(report.c.geom), func.ST_Y(report.c.geom),
                                *(report.c[f"h3_r{res}"] for res in H3_RESOLUTIONS),
                                report.c.created_at)
                         .where(report.c.import_batch == BATCH_LABEL).limit(200)).all()
    for lon, lat, *cells, created_at in rows:
        assert cells == [h3.latlng_to_cell(lat, lon, res) for res in H3_RESOLUTIONS]
        assert dt.datetime(2025, 12, 1, tzinfo=dt.UTC) <= created_at
        assert created_at < dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def test_h3_parents_on_the_integers_agree_with_h3() -> None:
    rng = np.random.default_rng(0)
    cells = np.array([h3.latlng_to_cell(lat, lon, 10) for lon, lat in
                      zip(rng.uniform(102, 110, 500), rng.uniform(8, 23, 500), strict=True)])
    for parent in range(11):
        assert h3_parents(cells, 10, parent).tolist() == [h3.cell_to_parent(int(c), parent)
                                                          for c in cells]
    with pytest.raises(ValueError, match="parent resolution"):
        h3_parents(cells, 10, 11)
