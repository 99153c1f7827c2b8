"""WSGI entry point (admin and REST only; websockets need ASGI)."""

import os
from pathlib import Path

from django.core.wsgi import get_wsgi_application

from flashlearn.env import load_dotenv

load_dotenv(Path(__file__).resolve().parent.parent / ".env")  # the environment wins over .env
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.settings")
application = get_wsgi_application()
