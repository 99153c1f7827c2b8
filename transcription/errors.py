"""Transcription's domain errors and the websocket close codes they map to."""

from __future__ import annotations

from flashlearn.errors import Conflict, DomainError, Forbidden, ServiceUnavailable

# Websocket close codes (documented in docs/transcription.md and docs/api.md).
CLOSE_GOING_AWAY = 1001  # server shutting down
CLOSE_TOO_BIG = 4413  # binary frame larger than TRANSCRIPTION_MAX_FRAME_BYTES (1009 is refused by autobahn)
CLOSE_BAD_STREAM = 4400  # stream name not valid
CLOSE_FORBIDDEN = 4403  # may not speak on / listen to this stream
CLOSE_IDLE = 4408  # no voiced audio for TRANSCRIPTION_IDLE_TIMEOUT seconds
CLOSE_BUSY = 4409  # the stream already has a speaker, or the account speaks on as many streams as it may
CLOSE_PREEMPTED = 4410  # a live session took this slot: this user stream had been idle longest
CLOSE_AT_CAPACITY = 4429  # TRANSCRIPTION_MAX_STREAMS streams are active; reason says when to retry
CLOSE_UNAVAILABLE = 4503  # the speech engine cannot run (model missing, worker down)


class TranscriptionError(DomainError):
    close_code = 4400


class InvalidStream(TranscriptionError):
    code = "invalid_stream"
    message = "Stream names are 1-64 letters, digits, '.', '_' or '-'."
    close_code = CLOSE_BAD_STREAM


class StreamForbidden(Forbidden):
    code = "stream_forbidden"
    message = "You may not use this stream."
    close_code = CLOSE_FORBIDDEN


class StreamBusy(Conflict):
    code = "stream_busy"
    message = "This stream already has a speaker."
    close_code = CLOSE_BUSY


class StreamLimitReached(Conflict):
    """An account holds at most TRANSCRIPTION_MAX_STREAMS_PER_USER slots: one account cannot fill the engine."""

    code = "transcription_user_limit"
    message = "This account already speaks on as many transcription streams as it may."
    close_code = CLOSE_BUSY


class EngineAtCapacity(ServiceUnavailable):
    code = "transcription_at_capacity"
    message = "All transcription streams are in use."
    close_code = CLOSE_AT_CAPACITY


class EngineUnavailable(ServiceUnavailable):
    code = "transcription_unavailable"
    message = "The speech engine is unavailable."
    close_code = CLOSE_UNAVAILABLE
