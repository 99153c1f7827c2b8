"""What other apps may use from messaging; everything else in the app is internal.

`.importlinter` holds this: outside messaging, only its tests, bench and the route collector
(flashlearn.routing -> messaging.routing) may import anything else of it. Need more? Add it here.
"""

from messaging.admin import LiveSessionAdmin
from messaging.models import LiveSession
from messaging.selectors import membership_get, session_role

__all__ = [
    "LiveSession",  # the model another app's admin page extends (transcription's captions)
    "LiveSessionAdmin",
    "membership_get",  # the caller's membership with its session; NotFound for outsiders
    "session_role",  # "host", "participant" or None: who may listen to and speak on a live session's stream
]
