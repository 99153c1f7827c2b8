"""Transcription at scale: 1, 2, 4 and 8 streams speaking at once through one process's engine.

In-process (the engine the sockets drive, without the sockets). Every stream feeds espeak-ng
sentences in real time, staggered, and keeps sending silence after each one as a microphone does.
Per stream count: end of speech → final p50/p95, the real-time factor (model seconds per second of
audio, all streams together: 1/RTF streams fit on this machine), RSS of the whole process tree, and
the word error rate of the finals; beside faster-whisper transcribing the same files whole (the
floor, its WER the reference). A stream count keeps up when its final p95 is under 3 s.
`BENCH_STREAMS=1,2` picks other counts; `BENCH_UTTERANCES` sets sentences per stream (default 3).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from bench.core import Row

SECTION = "transcription"
KEEPS_UP_SECONDS = 3.0
FINAL_TIMEOUT = 30.0
FRAME = 3200  # 100 ms


def process_tree_rss_mb(root: int | None = None) -> float:
    """RSS of `root` (this process) and every descendant, in MB."""
    root = root or os.getpid()
    parents, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/status") as status:
                rss[int(entry)] = next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError, StopIteration):
            continue
    tree, grown = {root}, True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grown = bool(children)
    return sum(rss.get(pid, 0) for pid in tree) / 1024


def run(args) -> list[Row]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.test_settings")
    import django

    django.setup()
    from transcription.tests.speech import SENTENCES, missing_tools, speech_pcm

    if missing_tools():
        print(f"[bench] transcription skipped: {missing_tools()}")
        return []
    counts = [int(n) for n in os.environ.get("BENCH_STREAMS", "1,2,4,8").split(",")]
    per_stream = int(os.environ.get("BENCH_UTTERANCES", "3"))
    return asyncio.run(measure(SENTENCES, speech_pcm, counts=counts, per_stream=per_stream))


def floor_transcribe(files: list[bytes], model_path: str, device: str, compute_type: str) -> list[tuple[float, str]]:
    """In a child process (its memory stays out of the tree measured): (seconds, text) per whole file."""
    import numpy as np
    from faster_whisper import WhisperModel

    model = WhisperModel(model_path, device=device, compute_type=compute_type)
    results = []
    for pcm in files:
        samples = np.frombuffer(pcm, np.int16).astype(np.float32) / 32768
        started = time.perf_counter()
        text = " ".join(seg.text for seg in model.transcribe(samples, language="en", beam_size=5)[0])
        results.append((time.perf_counter() - started, text))
    return results


def floor(sentences, audio, model_path: str) -> tuple[list[float], float, float]:
    """faster-whisper on whole files: (seconds per file, real-time factor, mean WER)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from transcription.tests.speech import wer
    from transcription.whisper import resolve_device

    texts = [sentences[i % len(sentences)] for i in range(14)]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.submit(floor_transcribe, [audio[t] for t in texts], model_path, *resolve_device()).result()
    times = [seconds for seconds, _ in results]
    audio_seconds = sum(len(audio[t]) / 32000 for t in texts)
    errors = [wer(text, out) for text, (_, out) in zip(texts, results, strict=True)]
    return times, sum(times) / audio_seconds, statistics.mean(errors)


async def measure(sentences, speech_pcm, *, counts: list[int], per_stream: int) -> list[Row]:
    from channels.layers import get_channel_layer
    from django.conf import settings

    import transcription.engine as engine_module
    from transcription import groups
    from transcription.tests.speech import wer

    settings.TRANSCRIPTION_MAX_STREAMS = settings.TRANSCRIPTION_MAX_STREAMS_PER_USER = max(counts)
    audio = {s: speech_pcm(s) for s in sentences}
    floor_times, floor_rtf, floor_wer = floor(sentences, audio, engine_module.resolve_model()[0])
    floor_p50 = statistics.median(floor_times)
    floor_p95 = statistics.quantiles(floor_times, n=20)[18]

    layer, engine = get_channel_layer(), engine_module.Engine()
    engine.store_segment = lambda **kw: type("Stored", (), {"pk": None})()  # no database in the bench
    base_rss = process_tree_rss_mb()

    async def one_stream(index: int, name: str) -> list[tuple[float, float]]:
        """(latency, WER) of each of its sentences."""
        channel = await layer.new_channel()
        await layer.group_add(groups.stream_group(name), channel)
        await asyncio.sleep(index * 0.37)  # speakers do not start together
        results = []
        for turn in range(per_stream):
            text = sentences[(index + turn) % len(sentences)]
            pcm = audio[text]
            for start in range(0, len(pcm), FRAME):
                await engine.feed(name, pcm[start:start + FRAME])
                await asyncio.sleep(0.1)
            speech_end = time.perf_counter()
            while True:
                await engine.feed(name, b"\x00" * FRAME)  # a microphone keeps sending silence
                try:
                    message = await asyncio.wait_for(layer.receive(channel), 0.1)
                except TimeoutError:
                    if time.perf_counter() - speech_end > FINAL_TIMEOUT:
                        results.append((FINAL_TIMEOUT, 1.0))
                        break
                    continue
                if message["final"]:
                    results.append((time.perf_counter() - speech_end, wer(text, message["text"])))
                    break
            for _ in range(5):  # a pause between sentences
                await engine.feed(name, b"\x00" * FRAME)
                await asyncio.sleep(0.1)
        return results

    rows, rss = [], {}
    for count in counts:
        names = [f"bench-{count}-{i}" for i in range(count)]
        for name in names:
            await engine.open(stream=name, speaker_id=None, reply_channel=None)
        busy_before = engine.transcriber.busy_seconds
        fed = per_stream * sum(len(audio[sentences[i % len(sentences)]]) for i in range(count)) / 32000
        results = [r for stream in await asyncio.gather(*(one_stream(i, n) for i, n in enumerate(names)))
                   for r in stream]
        rtf = (engine.transcriber.busy_seconds - busy_before) / fed
        rss[count] = process_tree_rss_mb()
        for name in names:
            await engine.close(name, flush=False)
        latencies = sorted(latency for latency, _ in results)
        p95 = statistics.quantiles(latencies, n=20)[18] if len(latencies) > 1 else latencies[0]
        label = f"{count} stream{'s' if count > 1 else ''}"
        rows += [
            Row(SECTION, f"{label}: end of speech → final, p50", statistics.median(latencies), "s",
                "faster-whisper on the file, p50", floor_p50, higher_is_better=False,
                note=f"{len(latencies)} finals"),
            Row(SECTION, f"{label}: end of speech → final, p95", p95, "s",
                "faster-whisper on the file, p95", floor_p95, higher_is_better=False,
                note="keeps up" if p95 < KEEPS_UP_SECONDS else "falls behind (p95 ≥ 3 s)"),
            Row(SECTION, f"{label}: real-time factor (model s / audio s)", rtf, "x",
                "faster-whisper on the files", floor_rtf, higher_is_better=False, note="finals + partials"),
            Row(SECTION, f"{label}: WER of finals", statistics.mean(w for _, w in results), "",
                "faster-whisper on the files", floor_wer, higher_is_better=False),
            Row(SECTION, f"{label}: RSS of the process tree", rss[count], "MB", "before the first stream",
                base_rss, higher_is_better=False),
        ]
        print(f"[bench] transcription {label}: p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, "
              f"RTF {rtf:.2f}, RSS {rss[count]:.0f} MB", flush=True)
    models = engine.transcriber.loads
    await engine.shutdown()
    if len(rss) > 1:
        low, high = min(rss), max(rss)
        rows.append(Row(SECTION, "memory per additional stream", (rss[high] - rss[low]) / (high - low), "MB",
                        note=f"RSS {low} → {high} streams; {models} model(s) loaded in all"))
    return rows
