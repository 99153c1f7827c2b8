"""Django's PostgreSQL backend with the database circuit breaker in front of every new connection.

During an outage each request would otherwise wait out the pool timeout (DB_POOL_TIMEOUT, ~5 s)
before its 503. Once a connect has failed, `get_new_connection` raises OperationalError at once
for DB_BREAKER_SECONDS, then lets one caller probe with a short connection of its own
(flashlearn.database.postgres_probe) before going back to the pool. Only the connect step is
adapted, through its documented override point; queries run exactly as in Django.
"""

from __future__ import annotations

import functools

import django
from django.conf import settings
from django.db.backends.postgresql import base

from flashlearn.breaker import DATABASE, CircuitOpen, breaker_for
from flashlearn.database import postgres_probe

# Written against Django 5.2's backend (get_new_connection(conn_params) opens the pool or connects).
if django.VERSION[:2] != (5, 2):  # pragma: no cover - caught by the suite on an upgrade
    raise ImportError(f"flashlearn.backends.postgresql was written for Django 5.2, not {django.get_version()}")


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        breaker = breaker_for(DATABASE if self.alias == "default" else f"{DATABASE}:{self.alias}")
        connect = functools.partial(super().get_new_connection, conn_params)
        probe = functools.partial(postgres_probe, conn_params, timeout=settings.HEALTH_CHECK_TIMEOUT)
        try:
            return breaker.call(connect, probe=probe, failures=(self.Database.Error,))
        except CircuitOpen as exc:
            raise self.Database.OperationalError(str(exc)) from None
