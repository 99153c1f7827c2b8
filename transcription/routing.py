from django.urls import re_path

from transcription import consumers

websocket_urlpatterns = [
    re_path(r"^ws/?$", consumers.AllStreamsSocket.as_asgi()),
    re_path(r"^st/?$", consumers.StatusSocket.as_asgi()),
    re_path(r"^ws/transcription/(?P<stream>[^/]+)/audio/?$", consumers.AudioSocket.as_asgi()),
    re_path(r"^ws/transcription/(?P<stream>[^/]+)/?$", consumers.ListenerSocket.as_asgi()),
]
