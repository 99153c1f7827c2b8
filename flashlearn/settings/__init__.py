"""Flashlearn settings, by area. Every value comes from the environment, read only here through
flashlearn/env.py's typed readers; docs/configuration.md lists every variable with its default and
`.env.example` names them all (flashlearn/tests/test_readme.py keeps the three in step).

Each area is a module of its own: the knobs of an app sit in the module named after it
(`accounts`, `messaging`, `calendars`, `creators`, `transcription`); the project-wide ones in `base`,
`databases`, `cache`, `server`, `tasks`, `security` and `api`. An area that needs another's value imports
it from that module by name, so the order of the imports below does not matter.
"""

from flashlearn.settings.accounts import *  # noqa: F403
from flashlearn.settings.api import *  # noqa: F403
from flashlearn.settings.base import *  # noqa: F403
from flashlearn.settings.cache import *  # noqa: F403
from flashlearn.settings.calendars import *  # noqa: F403
from flashlearn.settings.creators import *  # noqa: F403
from flashlearn.settings.databases import *  # noqa: F403
from flashlearn.settings.messaging import *  # noqa: F403
from flashlearn.settings.security import *  # noqa: F403
from flashlearn.settings.server import *  # noqa: F403
from flashlearn.settings.tasks import *  # noqa: F403
from flashlearn.settings.transcription import *  # noqa: F403
