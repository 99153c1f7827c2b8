from django.urls import re_path

from accounts.consumers import WhoAmIConsumer

websocket_urlpatterns: list = [re_path(r"^ws/auth/whoami/?$", WhoAmIConsumer.as_asgi())]
