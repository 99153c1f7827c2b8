"""Readiness of the speech engine, used by /readyz. The transcription issue fills this in."""


def readiness() -> dict:
    return {"ok": True, "state": "not_configured"}
