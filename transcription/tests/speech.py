"""Test speech: espeak-ng sentences as 16 kHz mono PCM16, and a word error rate."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

# Sentences tiny.en transcribes well in espeak-ng's voice (others, e.g. "the weather is nice today",
# come back garbled from the model itself, with or without our pipeline).
SENTENCES = [
    "Please open the door for me.",
    "I would like a cup of coffee.",
    "We are going to the library tomorrow.",
    "Can you help me with my homework?",
    "Thank you very much for your help.",
    "I like to read books in the evening.",
    "My favorite color is blue.",
]


def missing_tools() -> str | None:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install espeak-ng sox)"
    return None


@functools.lru_cache(maxsize=64)
def speech_pcm(text: str, *, voice: str = "en-us", speed: int = 150) -> bytes:
    """espeak-ng → sox → raw 16 kHz mono PCM16 bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True,
                       capture_output=True)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)],
                       check=True, capture_output=True)
        with wave.open(str(out)) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
            return wav.readframes(wav.getnframes())


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: word-level Levenshtein distance over the reference length."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(1, len(ref))
