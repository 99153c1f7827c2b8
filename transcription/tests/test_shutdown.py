"""SIGTERM to a real daphne: the speaker's last sentence is flushed, sockets close 1001, nothing is left."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets

from bench.core import ROOT, free_port, wait_http
from transcription.tests.speech import SENTENCES, wer

pytestmark = pytest.mark.speech

CREATE_USER = (
    "from accounts.models import User; from rest_framework_simplejwt.tokens import AccessToken; "
    "u = User.objects.create_user(email='talker@example.com', password='correct horse battery'); "
    "print('TOKEN', u.pk, AccessToken.for_user(u))"
)


def manage(env, *argv) -> str:
    return subprocess.run([sys.executable, "manage.py", *argv], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=180).stdout


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def daphne_env(tmp_path: Path, speech_ready):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(DEBUG="true", LOG_LEVEL="WARNING", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               TRANSCRIPTION_SHUTDOWN_GRACE="20")
    manage(env, "migrate", "--noinput", "-v", "0")
    line = next(x for x in manage(env, "shell", "-c", CREATE_USER).splitlines() if x.startswith("TOKEN "))
    _, user_id, token = line.split()
    return env, int(user_id), token


async def next_json(socket, kind: str, timeout: float = 90) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == kind:
            return frame


async def test_sigterm_flushes_closes_1001_and_leaves_no_process(daphne_env):
    """Daphne as `serve` runs it (flashlearn/servers/daphne.py, which lets the application close 1001)."""
    env, user_id, token = daphne_env
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "flashlearn.servers.daphne", "-b", "127.0.0.1", "-p", str(port),
                             "flashlearn.asgi:application"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=open(os.environ.get("TX_DAPHNE_LOG", os.devnull), "w"))
    try:
        await asyncio.get_running_loop().run_in_executor(None, wait_http, f"http://127.0.0.1:{port}/healthz", 120)
        base = f"ws://127.0.0.1:{port}/ws/transcription/user-{user_id}"
        async with websockets.connect(f"{base}/?token={token}", origin="http://localhost") as listener, \
                websockets.connect(f"{base}/audio/?token={token}", origin="http://localhost") as speaker:
            await next_json(speaker, "ready")
            pcm = speech_ready_pcm(SENTENCES[1])
            for start in range(0, len(pcm), 3200):  # speech only, no trailing silence: the sentence is open
                await speaker.send(pcm[start:start + 3200])
                await asyncio.sleep(0.05)
            # SIGTERM at once, mid-sentence. (It used to wait for a partial first; on a busy machine the
            # sentence could end before any partial, its final then arrived before SIGTERM, and the test
            # waited for a second final that never came.)
            os.kill(proc.pid, signal.SIGTERM)

            final = await next_json(listener, "transcription")
            while not final["final"]:
                final = await next_json(listener, "transcription")
            # The flush carries the sentence: most of its words (tiny.en on a cut-off sentence on a busy
            # machine has read "a cup of coffee" as "a curb and coffee", WER 0.29).
            assert wer(SENTENCES[1], final["text"]) < 0.4, final["text"]
            closed = await next_json(speaker, "closed")
            assert "shutting down" in closed["reason"]
            for socket in (speaker, listener):
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(socket.recv(), 30)
                assert socket.close_code == 1001
        code = await asyncio.get_running_loop().run_in_executor(None, proc.wait, 60)
        assert code == 0, f"daphne ended with {code}, not a clean exit after the drain"
        deadline = time.monotonic() + 10
        while group_alive(proc.pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not group_alive(proc.pid), "a child of daphne outlived it"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def speech_ready_pcm(text: str) -> bytes:
    from transcription.tests.speech import speech_pcm

    return speech_pcm(text)
