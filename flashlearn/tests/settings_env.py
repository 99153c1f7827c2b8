"""The project's settings as they come out of a given environment, without starting a process."""

from __future__ import annotations

import importlib
import sys
import types

import flashlearn.settings as project_settings


def _reload_settings() -> types.ModuleType:
    # The areas first, in the order they were first imported (each imports those it reads from),
    # then the package that collects them.
    areas = [module for name, module in list(sys.modules.items()) if name.startswith("flashlearn.settings.")]
    for module in areas:
        importlib.reload(module)
    return importlib.reload(project_settings)


def settings_from_env(monkeypatch, **env: str | None) -> types.SimpleNamespace:
    """A copy of flashlearn.settings evaluated with `env` (None removes a variable); the modules
    are evaluated again with the real environment before this returns."""
    for key, value in env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    try:
        return types.SimpleNamespace(**vars(_reload_settings()))
    finally:
        monkeypatch.undo()
        _reload_settings()
