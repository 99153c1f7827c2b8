"""WSGI entry point (admin and REST only; websockets need ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.settings")
application = get_wsgi_application()
