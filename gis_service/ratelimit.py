"""Per-key rate limits: a counter per key and minute in the database, shared by all workers.

Counted in its own short transaction, so refused and failed requests count too (a client
hammering the API with bad requests is limited like any other).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, literal_column
from sqlalchemy.dialects.postgresql import insert

from gis_service.auth import Principal
from gis_service.db.schema import api_key_usage
from gis_service.errors import TooManyRequests

WINDOW_S = 60




@dataclass(frozen=True)
class Usage:
    requests: int
    seconds_left: int


def count_request(engine: Engine, principal: Principal) -> Usage:
    """Count one request against the key's current minute; raise TooManyRequests over the limit."""
    window = func.date_trunc("minute", func.now())
    counted = insert(api_key_usage).values(api_key_id=principal.key_id, window_start=window,
                                           requests=1)
    stmt = counted.on_conflict_do_update(
        index_elements=[api_key_usage.c.api_key_id, api_key_usage.c.window_start],
        set_={"requests": api_key_usage.c.requests + 1},
    ).returning(
        api_key_usage.c.requests,
        (WINDOW_S - func.extract("second", func.now())).label("left"),
    )
    with engine.begin() as conn:
        requests, left = conn.execute(stmt).one()
        # Old windows are useless: trim this key's, cheaply, as we go.
        conn.execute(delete(api_key_usage).where(
            api_key_usage.c.api_key_id == principal.key_id,
            api_key_usage.c.window_start < window - literal_column("interval '5 minutes'")))
    usage = Usage(int(requests), max(1, int(left) + 1))
    if usage.requests > principal.rate_limit_per_minute:
        raise TooManyRequests(
            f"more than {principal.rate_limit_per_minute} requests this minute with this key",
            retry_after_s=usage.seconds_left)
    return usage
