"""Canonical routes under /api/v1/, and the same routes without the prefix for existing front ends."""

from flashlearn.paths import both
from messaging import apis

_routes = [
    ("live_sessions", apis.LiveSessionListCreateApi, "live-session-list"),
    ("live_sessions/<int:session_id>", apis.LiveSessionDetailApi, "live-session-detail"),
    ("live_sessions/<int:session_id>/join", apis.LiveSessionJoinApi, "live-session-join"),
    ("live_sessions/<int:session_id>/invite/rotate", apis.LiveSessionInviteRotateApi, "live-session-invite-rotate"),
    ("live_sessions/<int:session_id>/leave", apis.LiveSessionLeaveApi, "live-session-leave"),
    ("live_sessions/<int:session_id>/start", apis.LiveSessionStartApi, "live-session-start"),
    ("live_sessions/<int:session_id>/end", apis.LiveSessionEndApi, "live-session-end"),
    ("live_sessions/<int:session_id>/read", apis.LiveSessionReadApi, "live-session-read"),
    ("live_sessions/<int:session_id>/messages", apis.LiveSessionMessagesApi, "live-session-messages"),
    ("messages", apis.MessageCreateApi, "message-create"),
    ("messages/<int:message_id>", apis.MessageDetailApi, "message-detail"),
]

urlpatterns = []
for route, view, name in _routes:
    urlpatterns += both(f"api/v1/{route}", view.as_view(), name=name)
for route, view, _name in _routes:
    urlpatterns += both(route, view.as_view())  # alias
