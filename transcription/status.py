"""What `/status`, `/st` and `/readyz` report: engine state and client counts.

Counts are kept per process; with REDIS_URL every process also publishes its snapshot to
Redis every second or two, and the status sums the fresh ones (transcription/registry.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from django.conf import settings

from transcription import engine as engine_module

logger = logging.getLogger("transcription.status")

clients: Counter = Counter()  # "speakers", "listeners", "status" sockets open in this process
_publishers: set = set()


def local_snapshot() -> dict:
    engine = engine_module.current_engine()
    return {
        "mode": settings.TRANSCRIPTION_ENGINE,
        "engine": engine.snapshot() if engine is not None and not engine.closed else None,
        "clients": {kind: clients[kind] for kind in ("speakers", "listeners", "status")},
    }


def engine_status() -> dict:
    """The combined status (blocking: reads Redis when REDIS_URL is set)."""
    snapshots = {"local": local_snapshot()}
    if settings.REDIS_URL:
        from transcription.registry import PROCESS_ID, process_statuses

        try:
            snapshots = process_statuses()
            snapshots[PROCESS_ID] = local_snapshot()
        except Exception as exc:
            logger.warning("could not read process statuses from Redis: %s", exc.__class__.__name__)
    model = engine_module.model_state()
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


def start_publisher() -> None:
    """With Redis: publish this process's snapshot every 2 s from the running loop (once per loop)."""
    if not settings.REDIS_URL:
        return
    loop = asyncio.get_running_loop()
    if loop in _publishers:
        return
    _publishers.add(loop)
    loop.create_task(_publish_forever(loop))


async def _publish_forever(loop) -> None:
    from transcription.registry import publish_process_status

    try:
        while not loop.is_closed():
            try:
                await loop.run_in_executor(None, publish_process_status, local_snapshot())
            except Exception as exc:
                logger.warning("could not publish the transcription status: %s", exc.__class__.__name__)
            await asyncio.sleep(2)
    finally:
        _publishers.discard(loop)


async def publish_now() -> None:
    if settings.REDIS_URL:
        from transcription.registry import publish_process_status

        try:
            await asyncio.get_running_loop().run_in_executor(None, publish_process_status, local_snapshot())
        except Exception as exc:
            logger.warning("could not publish the transcription status: %s", exc.__class__.__name__)
