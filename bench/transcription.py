"""Transcription: end-of-speech → final latency, real-time factor, streams that keep up, memory per stream.

In-process (the engine the sockets drive, without the sockets), beside faster-whisper transcribing
the same espeak-ng files directly (the floor). Bounded: 20 utterances, then 1 and 2 parallel streams.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from bench.core import Row

SECTION = "transcription"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(args) -> list[Row]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.test_settings")
    import django

    django.setup()
    from transcription.tests.speech import SENTENCES, missing_tools, speech_pcm

    if missing_tools():
        print(f"[bench] transcription skipped: {missing_tools()}")
        return []
    return asyncio.run(measure(SENTENCES, speech_pcm))


async def measure(sentences, speech_pcm) -> list[Row]:
    import numpy as np
    from channels.layers import get_channel_layer
    from faster_whisper import WhisperModel

    import transcription.engine as engine_module
    from transcription import groups

    engine_module.store_segment = lambda **kw: type("Stored", (), {"pk": None})()  # no database in the bench
    utterances = [sentences[i % len(sentences)] for i in range(20)]
    audio = {s: speech_pcm(s) for s in sentences}

    # The floor: faster-whisper on whole files.
    model_path, _ = engine_module.resolve_model()
    model = WhisperModel(model_path, device="cpu", compute_type="int8")
    floor_times, floor_audio = [], 0.0
    for text in utterances:
        samples = np.frombuffer(audio[text], np.int16).astype(np.float32) / 32768
        started = time.perf_counter()
        " ".join(seg.text for seg in model.transcribe(samples, language="en", beam_size=5)[0])
        floor_times.append(time.perf_counter() - started)
        floor_audio += len(samples) / 16000
    del model

    layer, engine = get_channel_layer(), engine_module.get_engine()
    base = rss_mb()

    async def one_stream(name: str, count: int, speedup: float) -> list[float]:
        channel = await layer.new_channel()
        await layer.group_add(groups.stream_group(name), channel)
        await engine.open(stream=name, speaker_id=None, reply_channel=None)
        latencies = []
        for text in utterances[:count]:
            pcm = audio[text]
            for start in range(0, len(pcm), 3200):
                await engine.feed(name, pcm[start:start + 3200])
                await asyncio.sleep(0.1 / speedup)
            speech_end = time.perf_counter()
            while True:
                for _ in range(3):  # a microphone keeps sending silence
                    await engine.feed(name, b"\x00" * 3200)
                try:
                    message = await asyncio.wait_for(layer.receive(channel), 0.1)
                except TimeoutError:
                    continue
                if message["final"]:
                    latencies.append(time.perf_counter() - speech_end)
                    break
        await engine.close(name, flush=False)
        return latencies

    started = time.perf_counter()
    latencies = await one_stream("bench-1", 20, speedup=2.0)
    per_stream_mb = rss_mb() - base
    wall = time.perf_counter() - started
    fed = sum(len(audio[t]) / 32000 for t in utterances)
    parallel = await asyncio.gather(*(one_stream(f"bench-p{i}", 4, speedup=1.0) for i in range(2)))
    keeps_up = 2 if max(max(p) for p in parallel) < 3.0 else 1
    await engine.shutdown()

    quantiles = statistics.quantiles(latencies, n=20)
    floor_p50 = statistics.median(floor_times)
    return [
        Row(SECTION, "end of speech → final, p50", statistics.median(latencies), "s",
            "faster-whisper on the file, p50", floor_p50, higher_is_better=False),
        Row(SECTION, "end of speech → final, p95", quantiles[18], "s",
            "faster-whisper on the file, p95", statistics.quantiles(floor_times, n=20)[18], higher_is_better=False),
        Row(SECTION, "real-time factor (wall / audio)", wall / fed, "x", "faster-whisper on the files",
            sum(floor_times) / floor_audio, higher_is_better=False,
            note="fed at 2x real time: 0.5 is the stream's floor"),
        Row(SECTION, "streams keeping up in real time", keeps_up, "streams", note="of 2 tried; final < 3 s"),
        Row(SECTION, "memory per stream (RSS)", per_stream_mb, "MB", note="one recorder: main + realtime model"),
    ]
