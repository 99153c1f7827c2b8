#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

Reads `.env` first (variables already in the environment win; `make run` writes one with
DEBUG=true and a random SECRET_KEY on first use). A configuration error is one line on stderr
and exit status 1, not a traceback.
"""

import os
import sys
from pathlib import Path


def main() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from flashlearn.env import load_dotenv

    try:
        load_dotenv(Path(__file__).resolve().parent / ".env")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.settings")
        from django.core.management import execute_from_command_line

        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.exit(f"ImproperlyConfigured: {exc}")


if __name__ == "__main__":
    main()
