"""Scale-out mode: `manage.py transcription_worker` owns the recorders; this process only relays frames."""

import os
import signal
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from bench.core import ROOT
from transcription.tests.conftest import connect, speak, stop_and_wait, token_for, until_final
from transcription.tests.speech import SENTENCES, wer

pytestmark = [pytest.mark.speech, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(settings, speech_ready):
    channel = f"transcription-engine-test-{uuid.uuid4().hex[:8]}"
    settings.TRANSCRIPTION_ENGINE = "worker"
    settings.TRANSCRIPTION_ENGINE_CHANNEL = channel
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DEBUG="true", LOG_LEVEL=os.environ.get("TX_WORKER_LOG_LEVEL", "WARNING"), DATABASE_URL=database_url(),
               REDIS_URL=settings.REDIS_URL,
               REDIS_PREFIX=settings.REDIS_PREFIX, TRANSCRIPTION_ENGINE="worker", TRANSCRIPTION_ENGINE_CHANNEL=channel)
    env.pop("DATABASE_TEST_NAME", None)
    proc = subprocess.Popen([sys.executable, "manage.py", "transcription_worker"], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.PIPE, text=True,
                            stderr=open(os.environ.get("TX_WORKER_LOG", os.devnull), "w"))
    first = proc.stdout.readline()  # printed once settings and the model are checked
    assert first.startswith("transcription worker:"), (first, proc.poll())
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def test_worker_transcribes_and_shuts_down_cleanly(worker, users):
    user = users[0]
    stream = f"user-{user.pk}"
    listener, connected = await connect(f"/ws/transcription/{stream}/", token_for(user))
    assert connected
    speaker, connected = await connect(f"/ws/transcription/{stream}/audio/", token_for(user))
    assert connected
    ready = await speaker.receive_json_from(timeout=90)
    assert ready["type"] == "ready", ready

    await speak(speaker, speech_ready_pcm(SENTENCES[4]), silence=1.0)
    _, final = await until_final(listener)
    assert wer(SENTENCES[4], final["text"]) < 0.25, final["text"]
    assert final["segment"]  # stored by the worker in the same database
    await stop_and_wait(speaker)
    await speaker.disconnect()
    await listener.disconnect()

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    assert "shutting down" in worker.stdout.read()


def speech_ready_pcm(text):
    from transcription.tests.speech import speech_pcm

    return speech_pcm(text)
