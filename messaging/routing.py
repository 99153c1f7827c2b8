from django.urls import re_path

from messaging.consumers import LiveSessionConsumer

websocket_urlpatterns = [
    re_path(r"^ws/live_sessions/(?P<session_id>\d+)/?$", LiveSessionConsumer.as_asgi()),
]
