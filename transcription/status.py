"""What `/status`, `/st` and `/readyz` report: engine state and client counts.

Counts are kept per process by its TranscriptionRuntime (transcription/runtime.py); with REDIS_URL
every process also publishes its snapshot to Redis every 2 s, and the status sums the fresh ones
(transcription/registry.py).
"""

from __future__ import annotations

import logging
from collections import Counter

from django.conf import settings

from transcription import runtime as runtime_module
from transcription.whisper import model_state

logger = logging.getLogger("transcription.status")


def engine_status(runtime: runtime_module.TranscriptionRuntime | None = None) -> dict:
    """The combined status (blocking: reads Redis when REDIS_URL is set)."""
    local_snapshot = (runtime or runtime_module.current()).local_snapshot
    snapshots = {"local": local_snapshot()}
    if settings.REDIS_URL:
        from transcription.registry import PROCESS_ID, process_statuses

        try:
            snapshots = process_statuses()
            snapshots[PROCESS_ID] = local_snapshot()
        except Exception as exc:
            logger.warning("could not read process statuses from Redis: %s", exc.__class__.__name__)
    model = model_state()
    engines = [s["engine"] for s in snapshots.values() if s.get("engine")]
    streams = {}
    for snap in engines:
        streams.update(snap["streams"])
    counts = Counter()
    for snap in snapshots.values():
        counts.update(snap.get("clients", {}))
    initialized = any(e["recorder_initialized"] for e in engines)
    if not model["ok"]:
        state = "unavailable"
    elif settings.TRANSCRIPTION_ENGINE == "worker" and not engines:
        state = "no_worker"
    elif streams:
        state = "active"
    else:
        state = "ready" if initialized else "idle"
    errors = [e["error"] for e in engines if e.get("error")]
    speech = [e["speech"] for e in engines if e.get("speech")]
    devices = sorted({s["device"] for s in speech})
    return {
        "recorder_initialized": initialized,
        "state": state,
        "model": model["model"],
        "realtime_model": model["realtime_model"],
        "device": devices[0] if len(devices) == 1 else (devices or settings.TRANSCRIPTION_DEVICE),
        "load": {"models_loaded": sum(s.get("models_loaded", 0) for s in speech),
                 "queued_finals": sum(s.get("queued_finals", 0) for s in speech),
                 "queued_partials": sum(s.get("queued_partials", 0) for s in speech),
                 "busy": max((s.get("busy", 0.0) for s in speech), default=0.0)},
        "mode": settings.TRANSCRIPTION_ENGINE,
        "max_streams": settings.TRANSCRIPTION_MAX_STREAMS,
        "streams": streams,
        "clients": {kind: counts[kind] for kind in ("speakers", "listeners", "status")},
        "processes": len(snapshots),
        "error": model.get("error") or (errors[0] if errors else None),
    }
