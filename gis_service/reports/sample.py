"""Sample data for the demo: a synthetic two-year history, generated and imported once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, func, select

from gis_service.config import Settings
from gis_service.db.schema import report
from gis_service.reports.importing.importer import import_reports
from gis_service.synthetic.generator import DEFAULT_COUNT, category_codes, generate, load_communes

SAMPLE_SEED = 1
SAMPLE_BATCH = "demo-sample"


@dataclass(frozen=True)
class SampleLoad:
    imported: int
    already_present: int
    path: Path | None


def load_sample_history(conn: Connection, settings: Settings, *, count: int = DEFAULT_COUNT
                        ) -> SampleLoad:
    """Generate and import the sample history unless reports are already there.

    Needs the 2019 communes with their census population (the official boundaries): the
    gazetteer-only fallback has no population to place reports by, so it gets none.
    """
    present = conn.execute(select(func.count()).select_from(report)).scalar_one()
    if present:
        return SampleLoad(0, present, None)
    folder = settings.state_dir / "sample"
    folder.mkdir(parents=True, exist_ok=True)
    history = generate(load_communes(conn), out=folder / "history.csv", count=count,
                       seed=SAMPLE_SEED, categories=category_codes(settings))
    summary = import_reports(conn, history.reports_path, batch_label=SAMPLE_BATCH)
    return SampleLoad(summary.imported, 0, history.reports_path)
