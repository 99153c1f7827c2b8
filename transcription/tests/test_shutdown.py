"""SIGTERM to a real `manage.py serve`: the speaker's last sentence is flushed, sockets close 1001, nothing is left."""

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest
import websockets

from flashlearn.tests import live
from transcription.tests.speech import SENTENCES, wer

pytestmark = pytest.mark.speech

CREATE_USER = (
    "from accounts.models import User; from rest_framework_simplejwt.tokens import AccessToken; "
    "u = User.objects.create_user(email='talker@example.com', password='correct horse battery'); "
    "print('TOKEN', u.pk, AccessToken.for_user(u))"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def serve_env(tmp_path: Path, speech_ready):
    env = live.project_env(DEBUG="true", LOG_LEVEL="WARNING", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
                           TRANSCRIPTION_SHUTDOWN_GRACE="20")
    migrated = live.manage("migrate", "--noinput", "-v", "0", env=env, timeout=180)
    assert migrated.returncode == 0, migrated.stderr
    created = live.manage("shell", "-c", CREATE_USER, env=env, timeout=180)
    assert created.returncode == 0, created.stderr
    line = next(x for x in created.stdout.splitlines() if x.startswith("TOKEN "))
    _, user_id, token = line.split()
    return env, int(user_id), token


async def next_json(socket, kind: str, timeout: float = 90) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == kind:
            return frame


@pytest.mark.parametrize("server", live.SERVERS)
async def test_sigterm_flushes_closes_1001_and_leaves_no_process(serve_env, server, tmp_path):
    """`manage.py serve` as production runs it, under each server adapter (flashlearn/servers/)."""
    env, user_id, token = serve_env
    with live.serve(env=env, server=server, log=tmp_path / "serve.log", timeout=120) as served:
        workers = served.worker_pids()
        base = f"{served.ws_base}/ws/transcription/user-{user_id}"
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
            os.kill(served.proc.pid, signal.SIGTERM)

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
                    while True:  # a server's own going-away frame may come first
                        await asyncio.wait_for(socket.recv(), 30)
                assert socket.close_code == 1001
        code = await asyncio.get_running_loop().run_in_executor(None, served.proc.wait, 60)
        assert code == 0, f"serve ended with {code}, not a clean exit after the drain:\n{served.output()[-3000:]}"
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not any(alive(pid) for pid in workers), "a worker outlived serve"


def speech_ready_pcm(text: str) -> bytes:
    from transcription.tests.speech import speech_pcm

    return speech_pcm(text)
