"""The speech engine, in parts: the engine (engine.py: streams, slots, lifecycle), a pooled recorder
(recorder.py), an active stream's state (stream.py, no I/O) and its sender (publish.py: store + group send).
The model and device are transcription/whisper.py; process-wide state and shutdown transcription/runtime.py.
"""

from transcription.engine.engine import Engine, model_state, resolve_model
from transcription.engine.publish import store_segment
from transcription.engine.recorder import BYTES_PER_SECOND, SAMPLE_RATE, Slot, build_recorder, quiet_shutdown_banner
from transcription.engine.stream import ActiveStream

__all__ = ["ActiveStream", "BYTES_PER_SECOND", "Engine", "SAMPLE_RATE", "Slot", "build_recorder", "model_state",
           "quiet_shutdown_banner", "resolve_model", "store_segment"]
