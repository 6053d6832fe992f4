"""When to try a failed delivery again: exponential backoff with jitter."""

from __future__ import annotations

import datetime as dt
import random


def retry_delay(failed_attempts: int, *, base_s: float, cap_s: float,
                rng: random.Random | None = None) -> dt.timedelta:
    """The wait after the ``failed_attempts``-th failure: ``base * 2**(n-1)``, capped, of which
    a random half is taken away ("equal jitter"), so that the deliveries of a receiver that
    was down do not all come back in the same second, and no retry comes immediately.

    >>> retry_delay(1, base_s=30, cap_s=3600, rng=random.Random(1)) <= dt.timedelta(seconds=30)
    True
    """
    ceiling = min(cap_s, base_s * 2.0 ** max(failed_attempts - 1, 0))
    draw = (rng or random).uniform(0.0, ceiling / 2)
    return dt.timedelta(seconds=ceiling / 2 + draw)
