import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from transcription import runtime as runtime_module
from transcription.tests.speech import missing_tools, speech_pcm
from transcription.whisper import model_state

FRAME = 3200  # 100 ms
FEED_SPEEDUP = 4.0
TIMEOUT = 90


def make_user(email: str):
    return UserFactory(email=email)


def token_for(user) -> str:
    return str(AccessToken.for_user(user))


async def connect(path: str, token: str | None = None):
    from flashlearn.asgi import application

    query = f"?token={token}" if token else ""
    communicator = WebsocketCommunicator(application, f"{path}{query}", headers=[(b"origin", b"http://localhost")])
    connected, subprotocol = await communicator.connect(timeout=TIMEOUT)
    return communicator, connected


async def speak(communicator, pcm: bytes, *, silence: float = 0.8, speedup: float = FEED_SPEEDUP) -> None:
    """Send PCM in 100 ms frames faster than real time, then some silence."""
    for start in range(0, len(pcm), FRAME):
        await communicator.send_to(bytes_data=pcm[start:start + FRAME])
        await asyncio.sleep(0.1 / speedup)
    for _ in range(int(silence * 10)):
        await communicator.send_to(bytes_data=b"\x00" * FRAME)
        await asyncio.sleep(0.1 / speedup)


async def stop_and_wait(communicator) -> dict:
    await communicator.send_json_to({"type": "stop"})
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == "flushed":
            return frame


async def until_final(communicator) -> tuple[list[dict], dict]:
    partials = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "transcription", frame
        if frame["final"]:
            return partials, frame
        partials.append(frame)


@pytest.fixture(scope="session")
def speech_ready():
    reason = missing_tools()
    if reason is None:
        state = model_state()
        if not state["ok"]:
            reason = state["error"]
    if reason:
        pytest.skip(reason)
    return speech_pcm


@pytest.fixture
def users(db):
    return [make_user(f"speaker{i}@example.com") for i in range(3)]


@pytest.fixture
async def engine():
    """The process engine; every stream is closed after the test (recorders stay pooled, warm)."""
    current = runtime_module.current().get_engine()
    yield current
    for name in list(current.streams):
        await current.close(name, flush=False)


adb = database_sync_to_async
