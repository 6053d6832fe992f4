"""The primary's boundary revision as this process last heard it, followed with LISTEN/NOTIFY.

Migration 0008 sends every new revision on the ``boundary_revision`` channel when its
transaction commits. One daemon thread per process holds one connection that LISTENs there,
so answers built from boundaries cached under a revision (the commune cores, the inside
snaps) can be given without asking the database whether that revision still holds.

What it promises: :attr:`RevisionWatch.revision` is a revision the primary has committed, at
most one notification delivery behind it (~milliseconds), and None whenever the watch cannot
vouch for it (not connected yet, or the connection broke: then every answer goes to the SQL as
before). It also re-reads the revision every ``REFRESH_S`` so a silently dead connection (no
notification can arrive) cannot hold an old value for longer than that.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import psycopg
from sqlalchemy import Engine

CHANNEL = "boundary_revision"
#: Longest wait between two reads of the revision when no notification comes.
REFRESH_S = 1.0
#: Pause before reconnecting after the connection failed.
RETRY_S = 0.5

log = logging.getLogger(__name__)


class RevisionWatch:
    """A thread following the boundary revision of ``engine``'s database."""

    def __init__(self, engine: Engine) -> None:
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        self._connect_args: tuple[list[Any], dict[str, Any]] = (list(cargs), dict(cparams))
        self.revision: uuid.UUID | None = None
        #: The listening connection's server process (None while disconnected).
        self.backend_pid: int | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revision-watch", daemon=True)

    def start(self) -> RevisionWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5 * REFRESH_S)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._follow()
            except psycopg.Error as error:
                log.warning("boundary revision watch reconnects: %s", error)
            self.revision = self.backend_pid = None  # cannot vouch for anything disconnected
            self._stopped.wait(RETRY_S)

    def _follow(self) -> None:
        cargs, cparams = self._connect_args
        with psycopg.connect(*cargs, **{**cparams, "autocommit": True}) as conn:
            # LISTEN before the read: a revision committed after the read is then announced.
            conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            while not self._stopped.is_set():
                row = conn.execute("SELECT revision FROM boundary_revision").fetchone()
                self.revision = None if row is None else row[0]
                for note in conn.notifies(timeout=REFRESH_S):
                    self.revision = uuid.UUID(note.payload)
                    if self._stopped.is_set():
                        return
