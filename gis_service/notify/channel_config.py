"""Reading an agency's notification channels from ``agencies.toml`` (no database).

Each ``[[agency.notify]]`` table under an ``[[agency]]`` is one channel::

    [[agency.notify]]
    webhook = "https://hooks.example.vn/paht"     # https; http only on loopback (tests)
    secret_env = "GIS_NOTIFY_SECRET_SO_XAY_DUNG"  # the variable holding the HMAC secret

    [[agency.notify]]
    email = "tiepnhan@example.vn"

The secret is referenced by the *name* of an environment variable, so it never enters the
repository or the database; the worker reads it when it signs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gis_service import tomlcheck
from gis_service.errors import DataError

NOTIFY_KEY = "notify"
MAX_URL_CHARS = 2000
MAX_EMAIL_CHARS = 254
#: Environment variable names: what a shell can export.
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# One address, nothing a header could be split on (CR, LF), no display name or list.
_EMAIL = re.compile(r"[^@\s<>,;\"()\[\]\\]+@[^@\s<>,;\"()\[\]\\]+")
_KEYS = {"webhook", "secret_env", "email"}
LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class ChannelSpec:
    """One way to reach an agency: ``webhook`` (URL, secret variable) or ``email`` (address)."""

    kind: str
    target: str
    secret_env: str | None = None


def read_channels(agency: Mapping[str, Any], where: str) -> tuple[ChannelSpec, ...]:
    """The ``[[agency.notify]]`` channels of one ``[[agency]]`` table, checked.

    >>> read_channels({"notify": [{"email": "a@example.vn"}]}, "x")
    (ChannelSpec(kind='email', target='a@example.vn', secret_env=None),)
    """
    entries = tomlcheck.tables(agency, NOTIFY_KEY, where)
    channels = tuple(_channel(t, f"{where} [[agency.notify]] {n}")
                     for n, t in enumerate(entries, start=1))
    seen: set[tuple[str, str]] = set()
    for channel in channels:
        if (channel.kind, channel.target) in seen:
            raise DataError(f"{where}: {channel.kind} {channel.target!r} is listed twice")
        seen.add((channel.kind, channel.target))
    return channels


def _channel(table: Mapping[str, Any], where: str) -> ChannelSpec:
    tomlcheck.no_unknown_keys(table, _KEYS, where)
    kinds = [key for key in ("webhook", "email") if key in table]
    if len(kinds) != 1:
        raise DataError(f"{where}: give exactly one of 'webhook' or 'email' "
                        f"(found {', '.join(kinds) or 'none'})")
    if kinds[0] == "email":
        if "secret_env" in table:
            raise DataError(f"{where}: 'secret_env' goes with 'webhook' (e-mail is not signed)")
        return ChannelSpec("email", _email(tomlcheck.string(table, "email", where), where))
    url = webhook_url(tomlcheck.string(table, "webhook", where), where)
    if "secret_env" not in table:
        raise DataError(f"{where}: a webhook needs 'secret_env', the name of the environment "
                        "variable holding its signing secret (never the secret itself)")
    return ChannelSpec("webhook", url, _env_name(tomlcheck.string(table, "secret_env", where), where))


def webhook_url(url: str, where: str) -> str:
    """An https URL, or http to a loopback address (tests and local receivers)."""
    if len(url) > MAX_URL_CHARS:
        raise DataError(f"{where}: the webhook URL is longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise DataError(f"{where}: webhook {url!r} is not a URL: {exc}") from exc
    del port  # read only to validate it
    if parts.scheme not in ("https", "http") or not host:
        raise DataError(f"{where}: webhook {url!r} must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise DataError(f"{where}: webhook {url!r} carries credentials: the repository must not; "
                        "requests are signed with the secret of 'secret_env' instead")
    if parts.scheme == "http" and not is_loopback(host):
        raise DataError(f"{where}: webhook {url!r} must use https (http only to loopback)")
    return url


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _env_name(name: str, where: str) -> str:
    if not ENV_NAME.fullmatch(name):
        raise DataError(f"{where}: secret_env {name[:80]!r} is not an environment variable name "
                        "(letters, digits, '_'): give the variable's name, not the secret")
    return name


def _email(address: str, where: str) -> str:
    if len(address) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(address):
        raise DataError(f"{where}: {address[:80]!r} is not one e-mail address")
    return address
