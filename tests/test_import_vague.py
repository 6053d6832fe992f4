"""Bulk import of a file whose rows have only a street (issue 13): rejected with a reason,
never geocoded to a commune, and the rest of the file imported."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, func, select

from gis_service.db.schema import report
from gis_service.reports.importing import summary as why
from gis_service.reports.importing.importer import import_reports
from gis_service.reports.setup import load_config
from tests.conftest import HueDB
from tests.test_importer import GOOD_ROW, write_csv


def test_a_street_only_row_is_rejected_with_its_reason(hue_db: HueDB, conn: Connection,
                                                       tmp_path: Path) -> None:
    load_config(conn, hue_db.settings)
    rows = [
        {**GOOD_ROW, "public_id": "T-STREET", "lat": "", "lon": "",
         "location_source": "geocoded", "address": "45 Trần Hưng Đạo, Huế"},
        {**GOOD_ROW, "public_id": "T-POINT", "address": "45 Trần Hưng Đạo, Huế"},
    ]
    summary = import_reports(conn, write_csv(tmp_path / "street.csv", rows))
    assert (summary.imported, summary.rejected) == (1, 1)
    (rejection,) = summary.rejections
    assert (rejection.row, rejection.reason) == (1, why.ADDRESS_ONLY)
    assert "POST /v1/reports" in rejection.detail
    stored = conn.execute(select(report.c.public_id, func.ST_AsText(report.c.geom))
                          .where(report.c.public_id.in_(["T-STREET", "T-POINT"]))).all()
    assert [row[0] for row in stored] == ["T-POINT"]  # imported at its own point
