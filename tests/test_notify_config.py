"""Notification channels in agencies.toml: read, checked naming the entry, stored, reloaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection

from gis_service.config import ConfigError, NotifySettings
from gis_service.errors import DataError
from gis_service.notify.channel_config import ChannelSpec, read_channels
from gis_service.notify.channels import channels_of
from gis_service.reports.agencies import load_agencies
from tests.factories import add_generation, add_unit, square

# A supervised agency too: a file where no agency has a supervisor trips an existing typing
# bug in agencies._set_supervisors (a VALUES list of NULLs is text), which is not ours here.
AGENCY = """
[[agency]]
code = "power"
name = "Power company"
kind = "utility"
supervisor = "city"

[[agency]]
code = "city"
name = "City committee"
kind = "city_committee"
unit_level = "province"
"""
CHANNELS = AGENCY + """
[[agency.notify]]
webhook = "https://hooks.example.vn/paht"
secret_env = "GIS_NOTIFY_SECRET_CITY"

[[agency.notify]]
email = "tiepnhan@example.vn"
"""


@pytest.mark.parametrize(("entry", "message"), [
    ({}, "exactly one of 'webhook' or 'email'"),
    ({"webhook": "https://a.vn/h", "email": "a@b.vn"}, "exactly one of"),
    ({"webhook": "https://a.vn/h"}, "needs 'secret_env'"),
    ({"webhook": "https://a.vn/h", "secret_env": "s3cr3t-value!"}, "not an environment variable"),
    ({"webhook": "http://hooks.example.vn/h", "secret_env": "S"}, "must use https"),
    ({"webhook": "ftp://hooks.example.vn/h", "secret_env": "S"}, "must be an https:// URL"),
    ({"webhook": "https://user:pw@hooks.example.vn/h", "secret_env": "S"}, "carries credentials"),
    ({"webhook": "https://hooks.example.vn:99999/h", "secret_env": "S"}, "is not a URL"),
    ({"webhook": "https://a.vn/" + "x" * 2000, "secret_env": "S"}, "longer than"),
    ({"email": "two@a.vn, three@b.vn"}, "not one e-mail address"),
    ({"email": "a@b.vn\r\nBcc: x@y.vn"}, "not one e-mail address"),
    ({"email": "a@b.vn", "secret_env": "S"}, "goes with 'webhook'"),
    ({"email": "a@b.vn", "url": "x"}, "unknown key 'url'"),
    ({"email": ""}, "non-empty string"),
])
def test_bad_channels_are_refused_naming_the_entry(entry: dict[str, str], message: str) -> None:
    with pytest.raises(DataError, match=message) as raised:
        read_channels({"notify": [entry]}, "agencies.toml [[agency]] 3 ('city')")
    assert "agencies.toml [[agency]] 3 ('city') [[agency.notify]] 1" in raised.value.detail


def test_channels_are_read_and_loopback_http_is_allowed() -> None:
    entries = [{"webhook": "http://127.0.0.1:8123/hook", "secret_env": "T"},
               {"webhook": "http://localhost/hook", "secret_env": "T"},
               {"webhook": "http://[::1]:9/h", "secret_env": "T"},
               {"email": "ubnd@example.vn"}]
    assert read_channels({"notify": entries}, "x") == (
        ChannelSpec("webhook", "http://127.0.0.1:8123/hook", "T"),
        ChannelSpec("webhook", "http://localhost/hook", "T"),
        ChannelSpec("webhook", "http://[::1]:9/h", "T"),
        ChannelSpec("email", "ubnd@example.vn"))
    assert read_channels({}, "x") == ()
    with pytest.raises(DataError, match="listed twice"):
        read_channels({"notify": [{"email": "a@b.vn"}, {"email": "a@b.vn"}]}, "x")


@pytest.fixture
def drawn(conn: Connection) -> str:
    gid = add_generation(conn, "notifytest")
    add_unit(conn, gid, "P", square(107.0, 16.0, 1.0), level="province")
    return "notifytest"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agencies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_stores_channels_and_a_reload_writes_nothing(
        conn: Connection, drawn: str, tmp_path: Path) -> None:
    first = load_agencies(conn, _write(tmp_path, CHANNELS), generation_code=drawn)
    assert first.channels_written == 2 and "notification channels: 2 written" in first.describe()
    assert channels_of(conn, "city") == [
        ChannelSpec("webhook", "https://hooks.example.vn/paht", "GIS_NOTIFY_SECRET_CITY"),
        ChannelSpec("email", "tiepnhan@example.vn")]
    again = load_agencies(conn, _write(tmp_path, CHANNELS), generation_code=drawn)
    assert again.channels_written == 0
    renamed = CHANNELS.replace("GIS_NOTIFY_SECRET_CITY", "GIS_NOTIFY_SECRET_HUE")
    assert load_agencies(conn, _write(tmp_path, renamed), generation_code=drawn).channels_written == 1
    assert channels_of(conn, "city")[0].secret_env == "GIS_NOTIFY_SECRET_HUE"
    removed = load_agencies(conn, _write(tmp_path, AGENCY), generation_code=drawn)
    assert removed.channels_written == 2 and channels_of(conn, "city") == []


def test_a_bad_channel_in_the_file_writes_nothing(conn: Connection, drawn: str, tmp_path: Path) -> None:
    load_agencies(conn, _write(tmp_path, CHANNELS), generation_code=drawn)
    bad = CHANNELS.replace('email = "tiepnhan@example.vn"', 'email = "not an address"')
    with pytest.raises(DataError, match=r"\[\[agency\]\] 2 \('city'\) \[\[agency.notify\]\] 2"):
        load_agencies(conn, _write(tmp_path, bad), generation_code=drawn)
    assert len(channels_of(conn, "city")) == 2


def test_the_shipped_agency_file_still_loads() -> None:
    from gis_service.reports.agency_config import read_agency_config  # noqa: PLC0415

    config = read_agency_config(Path(__file__).parent.parent / "boundaries/reports/agencies.toml")
    assert all(isinstance(a.channels, tuple) for a in config.agencies)


@pytest.mark.parametrize(("env", "key"), [
    ({"GIS_NOTIFY_TIMEOUT_S": "20", "GIS_NOTIFY_LEASE_S": "30"}, "GIS_NOTIFY_LEASE_S"),
    ({"GIS_NOTIFY_MAX_ATTEMPTS": "0"}, "GIS_NOTIFY_MAX_ATTEMPTS"),
    ({"GIS_NOTIFY_BACKOFF_S": "nan"}, "GIS_NOTIFY_BACKOFF_S"),
    ({"GIS_NOTIFY_BACKOFF_S": "10", "GIS_NOTIFY_BACKOFF_MAX_S": "5"}, "GIS_NOTIFY_BACKOFF_MAX_S"),
    ({"GIS_SMTP_STARTTLS": "maybe"}, "GIS_SMTP_STARTTLS"),
    ({"GIS_SMTP_PORT": "70000"}, "GIS_SMTP_PORT"),
])
def test_bad_worker_settings_fail_naming_the_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        NotifySettings.from_env(env)


def test_worker_settings_are_read() -> None:
    found = NotifySettings.from_env({"GIS_SMTP_STARTTLS": "false", "GIS_SMTP_HOST": "mail.hue.vn",
                                     "GIS_NOTIFY_MAX_ATTEMPTS": "5"})
    assert (found.smtp_starttls, found.smtp_host, found.max_attempts) == (False, "mail.hue.vn", 5)
