"""What other apps and the project's entry points may use from accounts; the rest is internal.

`.importlinter` holds this: outside accounts, only its tests, bench and the route collector
(flashlearn.routing -> accounts.routing) may import anything else of it. Need more? Add it here.
"""

from accounts.models import User
from accounts.websocket import TokenAuthMiddleware

__all__ = [
    "User",  # the user model, for type hints (foreign keys name settings.AUTH_USER_MODEL)
    "TokenAuthMiddleware",  # websocket token auth, wrapped around every route by flashlearn.asgi
]
