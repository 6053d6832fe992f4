"""Running the worker as a process of its own beside the server (``gis-service demo``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

#: How long a stopping worker may finish its deliveries in flight before it is killed
#: (it loses nothing either way: its leased rows are retried).
STOP_GRACE_S = 15.0


def worker_command() -> list[str]:
    return [sys.executable, "-m", "gis_service.cli", "notify", "run"]


@contextmanager
def worker_beside(env: Mapping[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``gis-service notify run`` in a child process for the duration of the block."""
    child = subprocess.Popen(worker_command(), env=dict(os.environ if env is None else env))
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
