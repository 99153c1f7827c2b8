"""Readiness of the speech engine, used by /readyz. Never loads the model and never waits on it."""

from __future__ import annotations

from transcription.status import engine_status


def readiness() -> dict:
    status = engine_status()
    ok = status["state"] not in ("unavailable", "no_worker")
    check = {"ok": ok, "state": status["state"], "model": status["model"], "mode": status["mode"],
             "realtime_model": status["realtime_model"], "device": status["device"], "load": status["load"],
             "recorder_initialized": status["recorder_initialized"], "active_streams": len(status["streams"])}
    if status["error"]:
        check["error"] = status["error"]
    return check
