"""`gis-service keys`: a created key authenticates, a revoked one no longer does."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from gis_service.auth import authenticate
from gis_service.cli import main
from gis_service.errors import Unauthorized
from gis_service.reports.calendar import TZ
from tests.conftest import ReportsDB


def test_create_list_revoke(reports_db: ReportsDB, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", reports_db.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--name", "hotline desk", "--role", "client"])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    with reports_db.engine.connect() as conn:
        assert authenticate(conn, key).name == "hotline desk"
    prefix = key.split("_")[1]
    assert prefix in runner.invoke(main, ["keys", "list"]).output
    assert runner.invoke(main, ["keys", "revoke", prefix]).exit_code == 0
    with reports_db.engine.connect() as conn, pytest.raises(Unauthorized):
        authenticate(conn, key)
    refused = runner.invoke(main, ["keys", "create", "--name", "x", "--role", "agency"])
    assert refused.exit_code != 0 and "agency" in refused.output


def test_the_list_shows_agency_creation_and_state(reports_db: ReportsDB,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", reports_db.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    created = runner.invoke(main, ["keys", "create", "--name", "sở xây dựng desk", "--role",
                                   "agency", "--agency", "so-xay-dung", "--rate-limit", "120"])
    assert created.exit_code == 0, created.output
    prefix = created.output.strip().split("_")[1]
    listed = runner.invoke(main, ["keys", "list"]).output.splitlines()
    assert listed[0].split()[:4] == ["prefix", "role", "agency", "created"]
    row = next(line for line in listed if line.startswith(prefix)).split()
    assert row[1:3] == ["agency", "so-xay-dung"]
    assert dt.date.fromisoformat(row[3]) == dt.datetime.now(TZ).date()
    assert row[4:6] == ["active", "120"]


def test_a_role_refusal_reads_as_english(reports_db: ReportsDB) -> None:
    from gis_service.auth import Principal, require_role  # noqa: PLC0415
    from gis_service.errors import Forbidden  # noqa: PLC0415

    with pytest.raises(Forbidden, match="needs an agency key"):
        require_role(Principal(1, "x", "client", None, 60), "agency")
