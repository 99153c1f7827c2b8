"""Transcription: model, streams, limits and the engine (docs/transcription.md)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from flashlearn.env import env_float, env_int, env_str
from flashlearn.settings.cache import REDIS_URL

TRANSCRIPTION_MODEL = env_str("TRANSCRIPTION_MODEL")  # None: the shipped tiny.en model
TRANSCRIPTION_REALTIME_MODEL = env_str("TRANSCRIPTION_REALTIME_MODEL")  # None: partials use TRANSCRIPTION_MODEL
# auto: CUDA when CTranslate2 sees a GPU, else the CPU; cuda without a GPU is a start-up error.
TRANSCRIPTION_DEVICE = env_str("TRANSCRIPTION_DEVICE", "auto")
if TRANSCRIPTION_DEVICE not in ("auto", "cpu", "cuda"):
    raise ImproperlyConfigured("TRANSCRIPTION_DEVICE must be 'auto', 'cpu' or 'cuda'.")
TRANSCRIPTION_COMPUTE_TYPE = env_str("TRANSCRIPTION_COMPUTE_TYPE")  # None: int8 on the CPU, float16 on CUDA
TRANSCRIPTION_BEAM_SIZE = env_int("TRANSCRIPTION_BEAM_SIZE", 5)  # finals
TRANSCRIPTION_REALTIME_BEAM_SIZE = env_int("TRANSCRIPTION_REALTIME_BEAM_SIZE", 3)  # partials
# Model calls at once (faster-whisper num_workers); past the first, they take finals only.
TRANSCRIPTION_MODEL_WORKERS = env_int("TRANSCRIPTION_MODEL_WORKERS", 1)
TRANSCRIPTION_MAX_STREAMS = env_int("TRANSCRIPTION_MAX_STREAMS", 4)  # docs/benchmarks.md, "Transcription"
# One account holds at most this many of those slots (a live session may still take the slot of the
# user stream idle longest: docs/security.md, "## Transcription slots").
TRANSCRIPTION_MAX_STREAMS_PER_USER = env_int("TRANSCRIPTION_MAX_STREAMS_PER_USER", 1)
# "embedded": recorders run inside each daphne process; "worker": `manage.py transcription_worker`
# runs them and daphne only relays frames over the channel layer (needs REDIS_URL).
TRANSCRIPTION_ENGINE = env_str("TRANSCRIPTION_ENGINE", "embedded")
if TRANSCRIPTION_ENGINE not in ("embedded", "worker"):
    raise ImproperlyConfigured("TRANSCRIPTION_ENGINE must be 'embedded' or 'worker'.")
if TRANSCRIPTION_ENGINE == "worker" and not REDIS_URL:
    raise ImproperlyConfigured("TRANSCRIPTION_ENGINE=worker needs REDIS_URL: frames reach the worker through Redis.")
TRANSCRIPTION_ENGINE_CHANNEL = env_str("TRANSCRIPTION_ENGINE_CHANNEL", "transcription-engine")
TRANSCRIPTION_IDLE_TIMEOUT = env_float("TRANSCRIPTION_IDLE_TIMEOUT", 30.0)  # seconds without voiced audio
TRANSCRIPTION_KEEP_WARM = env_float("TRANSCRIPTION_KEEP_WARM", 300.0)  # an unused loaded recorder lives this long
TRANSCRIPTION_MAX_FRAME_BYTES = env_int("TRANSCRIPTION_MAX_FRAME_BYTES", 64000)  # 2 s of 16 kHz PCM16
TRANSCRIPTION_MAX_AUDIO_RATE = env_float("TRANSCRIPTION_MAX_AUDIO_RATE", 8.0)  # x real time, averaged
TRANSCRIPTION_AUDIO_BURST_SECONDS = env_float("TRANSCRIPTION_AUDIO_BURST_SECONDS", 10.0)
TRANSCRIPTION_POST_SPEECH_SILENCE = env_float("TRANSCRIPTION_POST_SPEECH_SILENCE", 0.4)
# Seconds between a stream's partials (RealtimeSTT's realtime_processing_pause; each also costs model time).
TRANSCRIPTION_PARTIAL_INTERVAL = env_float("TRANSCRIPTION_PARTIAL_INTERVAL", 0.3)
# Start the final this far into the closing silence (0: only once TRANSCRIPTION_POST_SPEECH_SILENCE is over).
TRANSCRIPTION_EARLY_FINAL_SILENCE = env_float("TRANSCRIPTION_EARLY_FINAL_SILENCE", 0.15)
TRANSCRIPTION_SHUTDOWN_GRACE = env_float("TRANSCRIPTION_SHUTDOWN_GRACE", 10.0)
# Open sockets re-ask who may listen/speak once their answer is this old (leave, delete, grant revoked).
TRANSCRIPTION_ACCESS_RECHECK_SECONDS = env_float("TRANSCRIPTION_ACCESS_RECHECK_SECONDS", 5.0)
