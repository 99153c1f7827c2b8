"""Offline AI analysis of creators and their posts. See `pipeline.py` for the runner."""
