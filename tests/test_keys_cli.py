"""`gis-service keys`: a created key authenticates, a revoked one no longer does."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gis_service.auth import authenticate
from gis_service.cli import main
from gis_service.errors import Unauthorized
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
