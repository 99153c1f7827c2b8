"""ASGI entry point: HTTP through Django, websockets through origin check, token auth and routes."""

import os
from pathlib import Path

from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

from flashlearn.env import load_dotenv

try:
    # `daphne flashlearn.asgi:application` run by hand reads .env like manage.py does (the environment wins).
    load_dotenv(Path(__file__).resolve().parent.parent / ".env")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.settings")
    django_asgi_app = get_asgi_application()
except ImproperlyConfigured as exc:  # one line for the operator, not a traceback from the server's importer
    raise SystemExit(f"ImproperlyConfigured: {exc}") from None

from channels.routing import ProtocolTypeRouter  # noqa: E402  (after Django is set up)

from accounts.interface import TokenAuthMiddleware  # noqa: E402
from flashlearn.origins import WebsocketOriginValidator  # noqa: E402
from flashlearn.request_limits import BodySizeLimit  # noqa: E402
from flashlearn.routing import websocket_router  # noqa: E402
from flashlearn.ws_guard import DependencyGuard  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app),
        "websocket": WebsocketOriginValidator(DependencyGuard(TokenAuthMiddleware(websocket_router))),
    }
)
