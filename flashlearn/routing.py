"""Every app's websocket routes in one URLRouter."""

from channels.routing import URLRouter

from accounts.routing import websocket_urlpatterns as accounts_ws
from calendars.routing import websocket_urlpatterns as calendars_ws
from creators.routing import websocket_urlpatterns as creators_ws
from messaging.routing import websocket_urlpatterns as messaging_ws
from transcription.routing import websocket_urlpatterns as transcription_ws

websocket_urlpatterns = [*accounts_ws, *messaging_ws, *calendars_ws, *creators_ws, *transcription_ws]

websocket_router = URLRouter(websocket_urlpatterns)
