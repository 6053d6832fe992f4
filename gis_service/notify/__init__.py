"""Notifications that are never lost: agencies are told, by webhook or e-mail, when a report
is routed to them, moved back onto their desk, escalated or overdue.

- :mod:`.channel_config` reads the channels of ``agencies.toml``; :mod:`.channels` stores them.
- :mod:`.outbox` writes the outbox rows in the event's own transaction, and claims and settles
  them for the worker; :mod:`.overdue` is the worker's periodic overdue check.
- :mod:`.signing`, :mod:`.webhook`, :mod:`.mail` deliver one row; :mod:`.retry` schedules the
  next attempt; :mod:`.worker` runs it all (``gis-service notify run``).
- :mod:`.log` is the per-agency delivery log.
"""
