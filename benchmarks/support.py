"""What the benchmarks share: a scratch database with Huế loaded, a gunicorn server, wrk."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gis_service.boundaries.manifest import load_manifest, manifests_dir  # noqa: E402
from gis_service.config import Settings  # noqa: E402
from gis_service.db.engine import database_url, make_engine  # noqa: E402
from gis_service.db.scratch import scratch_database  # noqa: E402


@contextmanager
def hue_database(settings: Settings, prefix: str) -> Iterator[str]:
    """A scratch database with Huế's boundaries loaded (the fallback set without a data root)."""
    with scratch_database(database_url(settings, start=True), settings, prefix) as url:
        engine = make_engine(url, settings)
        try:
            with engine.begin() as conn:
                load_manifest(conn, dataclasses.replace(settings,
                                                        boundaries_dir=manifests_dir(settings)))
        finally:
            engine.dispose()
        yield url


def province_points(url: str, settings: Settings, count: int, seed: int) -> list[tuple[float, float]]:
    """Uniform random points in the active generation's province polygon."""
    engine = make_engine(url, settings)
    # ST_GeneratePoints with a seed: repeatable points, drawn by PostGIS from the real polygon.
    query = text(
        "SELECT ST_X(d.geom), ST_Y(d.geom) FROM admin_unit u JOIN generation g ON g.id = u.generation_id, "
        "LATERAL ST_Dump(ST_GeneratePoints(u.geom, :count, :seed)) d "
        "WHERE g.status = 'active' AND u.level = 'province'"
    )
    try:
        with engine.connect() as conn:
            return [(float(x), float(y)) for x, y in conn.execute(query, {"count": count, "seed": seed})]
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def gunicorn_server(url: str, *, workers: int = 2, threads: int = 4) -> Iterator[str]:
    """``gis-service serve`` in a subprocess on a free port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "GIS_THREADS": str(threads)}
    # The log goes to a file: a pipe nobody reads fills up (an outage logs a line per request)
    # and then blocks every worker that writes to it.
    with tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gis-service"), "serve", "--port", str(port),
             "--workers", str(workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", process, Path(log.name))
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.unlink(log.name)


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path,
             timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not become healthy")


WRK_SCRIPT = """
local paths = {%(paths)s}
local bodies = {%(bodies)s}
local headers = %(headers)s
local i = 0
request = function()
  i = i + 1
  if #bodies == 0 then
    return wrk.format("GET", paths[(i %% #paths) + 1], headers)
  end
  -- Each submission its own Idempotency-Key (wrk runs one thread here, so i is unique).
  headers["Idempotency-Key"] = "%(key_prefix)s-" .. i
  return wrk.format("POST", paths[(i %% #paths) + 1], headers, bodies[(i %% #bodies) + 1])
end
%(delay)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "non_2xx": %%d, ' ..
    '"mean_us": %%.1f, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max))
end
"""


def _lua_string(value: str) -> str:
    """A Lua string literal (JSON's escapes are Lua's for the characters we send)."""
    return json.dumps(value, ensure_ascii=True)


def wrk(base: str, paths: list[str], *, seconds: int, connections: int, threads: int = 1,
        delay_ms: float | None = None, bodies: list[str] | None = None,
        headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Drive ``paths`` round-robin with wrk; ``delay_ms`` per request and connection throttles it.

    With ``bodies``, each request is a POST of the next body (JSON) with its own
    ``Idempotency-Key``; ``headers`` go with every request.
    """
    if bodies and threads != 1:
        raise ValueError("POSTs number their Idempotency-Keys in one wrk thread")
    delay = f"delay = function() return {delay_ms:.3f} end" if delay_ms else ""
    sent = {**({"Content-Type": "application/json"} if bodies else {}), **(headers or {})}
    lua = WRK_SCRIPT % {
        "paths": ",".join(_lua_string(p) for p in paths),
        "bodies": ",".join(_lua_string(b) for b in bodies or []),
        "headers": "{" + ",".join(f"[{_lua_string(k)}]={_lua_string(v)}" for k, v in sent.items()) + "}",
        "key_prefix": f"wrk-{os.getpid()}-{time.monotonic_ns()}",
        "delay": delay,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(lua)
    try:
        output = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", handle.name, base],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    return result


@contextmanager
def history_database(settings: Settings, prefix: str, reports: int, seed: int) -> Iterator[str]:
    """:func:`hue_database` with the report configuration and a generated history imported
    offline (and analysed): the data the analysis benchmarks measure."""
    from gis_service.reports.importing.importer import import_reports  # noqa: PLC0415
    from gis_service.reports.setup import load_config  # noqa: PLC0415
    from gis_service.synthetic.generator import (  # noqa: PLC0415
        category_codes,
        generate,
        load_communes,
    )

    with hue_database(settings, prefix) as url, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(url, settings)
        with engine.begin() as conn:
            load_config(conn, settings)
        with engine.connect() as conn:
            communes = load_communes(conn)
        history = generate(communes, out=Path(tmp) / "history.csv", count=reports, seed=seed,
                           categories=category_codes(settings))
        with engine.begin() as conn:
            print(import_reports(conn, history.reports_path, offline=True).describe(),
                  file=sys.stderr)
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE report")
        engine.dispose()
        yield url
