"""Kept for the tests that import the harness from here: it lives in flashlearn/tests/live.py."""

from flashlearn.tests.live import ROOT, Server, get, manage, project_env, running, wait_until_serving

__all__ = ["ROOT", "Server", "get", "manage", "project_env", "running", "wait_until_serving"]
