"""The websocket test fixtures shared with messaging's tests (messaging/tests/sockets.py)."""

from messaging.tests.sockets import fresh_presence, people, release_thread_connections  # noqa: F401 (fixtures)
