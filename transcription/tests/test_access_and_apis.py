"""Auth, permissions, REST routes, status and the missing-model path (no speech)."""

import pytest
from django.urls import reverse

from transcription import access, services
from transcription import runtime as runtime_module
from transcription.errors import CLOSE_BAD_STREAM, CLOSE_FORBIDDEN, CLOSE_UNAVAILABLE
from transcription.models import SpeakerGrant, TranscriptSegment
from transcription.tests.conftest import connect, make_user, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def live_session(host, *participants) -> str:
    """A real live session (messaging's services) with `participants` joined: its stream's name."""
    from messaging import services as messaging_services

    session = messaging_services.live_session_create(host=host, title="Captions")
    for participant in participants:
        messaging_services.live_session_join(user=participant, session_id=session.pk, invite_code=session.invite_code)
    return f"live-session-{session.pk}"


def test_user_stream_is_the_owners_alone(user):
    other = make_user("other@example.com")
    assert access.can_speak(user=user, stream=f"user-{user.pk}")
    assert access.can_listen(user=user, stream=f"user-{user.pk}")
    assert not access.can_speak(user=other, stream=f"user-{user.pk}")
    assert not access.can_listen(user=other, stream=f"user-{user.pk}")
    assert not access.can_listen(user=user, stream="lobby")


def test_only_the_host_grants(api_client, user):
    guest = make_user("guest@example.com")
    url = reverse("transcription-speakers", kwargs={"stream": live_session(user, guest)})
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(guest)}")
    response = api_client.post(url, {"user": guest.pk}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "stream_forbidden"
    assert not SpeakerGrant.objects.exists()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    response = api_client.post(url, {"user": guest.pk}, format="json")
    assert response.status_code == 201 and response.json()["user"] == guest.pk
    assert api_client.get(url).json()["results"][0]["user"] == guest.pk
    assert api_client.delete(f"{url}/{guest.pk}").status_code == 204
    assert not SpeakerGrant.objects.exists()
    assert api_client.delete(f"{url}/{10**30}").status_code == 204  # an id no database holds: not a 500


def test_segments_are_listed_for_listeners_only(auth_client, user):
    from rest_framework.test import APIClient

    stream = f"user-{user.pk}"
    for i in range(3):
        services.segment_create(stream=stream, speaker_id=user.pk, text=f"sentence {i}", start=i, end=i + 0.5)
    TranscriptSegment.objects.create(stream="user-999999", text="elsewhere", start=0, end=1)
    base = f"/api/v1/transcription/streams/{stream}/segments"
    for path in (base, f"{base}/"):
        body = auth_client.get(path).json()
        assert [s["text"] for s in body["results"]] == ["sentence 0", "sentence 1", "sentence 2"]
    first = body["results"][0]
    assert (first["start"], first["end"], first["speaker"], first["stream"]) == (0.0, 0.5, user.pk, stream)
    after = auth_client.get(f"/api/v1/transcription/streams/{stream}/segments?after={first['id']}").json()
    assert len(after["results"]) == 2
    assert auth_client.get("/api/v1/transcription/streams/user-999999/segments").status_code == 403
    assert auth_client.get("/api/v1/transcription/streams/bad name!/segments").status_code == 400
    assert APIClient().get(f"/api/v1/transcription/streams/{stream}/segments").status_code == 401


def test_status_reports_the_engine(api_client):
    for path in ("/status", "/status/"):
        response = api_client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert body["state"] in ("idle", "ready", "active") and body["model"].startswith("tiny.en")
        assert set(body["clients"]) == {"speakers", "listeners", "status"} and "recorder_initialized" in body


def test_missing_model_is_a_503_not_a_crash(api_client, settings):
    settings.TRANSCRIPTION_MODEL = "/nonexistent/model"
    response = api_client.get("/status")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["error"]["code"] == "transcription_unavailable"
    ready = api_client.get("/readyz").json()
    check = ready["checks"]["transcription"]
    assert check["ok"] is False and check["state"] == "unavailable"


async def test_audio_socket_with_a_missing_model_closes_4503(settings, user):
    settings.TRANSCRIPTION_MODEL = "/nonexistent/model"
    speaker, connected = await connect(f"/ws/transcription/user-{user.pk}/audio/", token_for(user))
    assert connected
    frame = await speaker.receive_json_from(timeout=10)
    assert frame["code"] == "transcription_unavailable" and frame["retry_after"] == 60 and "model" in frame["message"]
    assert (await speaker.receive_output(timeout=10))["code"] == CLOSE_UNAVAILABLE
    await speaker.disconnect()


async def test_sockets_need_a_token(user):
    for path in (f"/ws/transcription/user-{user.pk}/audio/", f"/ws/transcription/user-{user.pk}/", "/ws", "/st"):
        socket, connected = await connect(path)
        assert connected
        assert (await socket.receive_output(timeout=10))["code"] == 4401
        await socket.disconnect()


async def test_sockets_refuse_other_peoples_streams(user):
    other = await make_user_async("other@example.com")
    for path in (f"/ws/transcription/user-{other.pk}/audio/", f"/ws/transcription/user-{other.pk}/",
                 "/ws/transcription/lobby/audio/"):
        socket, _ = await connect(path, token_for(user))
        assert (await socket.receive_json_from(timeout=10))["code"] == "stream_forbidden"
        assert (await socket.receive_output(timeout=10))["code"] == CLOSE_FORBIDDEN
        await socket.disconnect()
    socket, _ = await connect("/ws/transcription/bad!name/", token_for(user))
    assert (await socket.receive_json_from(timeout=10))["code"] == "invalid_stream"
    assert (await socket.receive_output(timeout=10))["code"] == CLOSE_BAD_STREAM
    await socket.disconnect()


async def test_status_socket_sends_status(user):
    socket, connected = await connect("/st", token_for(user))
    assert connected
    frame = await socket.receive_json_from(timeout=10)
    assert frame["type"] == "status" and frame["status"]["clients"]["status"] >= 1
    assert "recorder_initialized" in frame["status"] and frame["timestamp"]
    await socket.disconnect()


async def make_user_async(email):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(make_user)(email)


def test_live_session_roles_come_from_messaging(user):
    """The real messaging rows: host speaks, a joined participant listens and speaks once granted."""
    guest, outsider = make_user("guest@example.com"), make_user("out@example.com")
    stream = live_session(user, guest)
    assert access.can_speak(user=user, stream=stream)
    assert access.can_listen(user=guest, stream=stream) and not access.can_speak(user=guest, stream=stream)
    assert not access.can_listen(user=outsider, stream=stream)
    services.speaker_grant(actor=user, stream=stream, user_id=guest.pk)
    services.speaker_grant(actor=user, stream=stream, user_id=guest.pk)
    assert SpeakerGrant.objects.filter(stream=stream).count() == 1
    assert access.can_speak(user=guest, stream=stream)
    with pytest.raises(Exception) as refused:
        services.speaker_grant(actor=guest, stream=stream, user_id=outsider.pk)
    assert getattr(refused.value, "code", None) == "stream_forbidden"
    services.speaker_revoke(actor=user, stream=stream, user_id=guest.pk)
    assert not access.can_speak(user=guest, stream=stream)


def test_admin_links_live_session_captions(client, user):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    TranscriptSegment.objects.create(stream="live-session-42", speaker=user, text="hello class", start=0, end=1)
    response = client.get("/admin/transcription/transcriptsegment/?stream=live-session-42")
    assert response.status_code == 200
    assert b"hello class" in response.content and b"/admin/messaging/livesession/42/change/" in response.content


def test_admin_segment_list_does_not_query_per_speaker(client, user, django_assert_max_num_queries):
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    for i in range(6):
        speaker = make_user(f"speaker{i}@example.com")
        TranscriptSegment.objects.create(stream=f"user-{speaker.pk}", speaker=speaker, text=f"s{i}", start=0, end=1)
    with django_assert_max_num_queries(8):
        assert client.get("/admin/transcription/transcriptsegment/").status_code == 200


@pytest.mark.redis
def test_status_sums_processes_through_redis(settings):
    from transcription.registry import PROCESS_ID, process_statuses, publish_process_status
    from transcription.status import engine_status

    publish_process_status({"mode": "embedded", "engine": None,
                            "clients": {"speakers": 1, "listeners": 3, "status": 0}})
    assert PROCESS_ID in process_statuses()
    other = {"mode": "embedded", "engine": None, "clients": {"speakers": 2, "listeners": 1, "status": 1}}
    import json
    import time

    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.hset(f"{settings.REDIS_PREFIX}:transcription:procs", "elsewhere:1", json.dumps({**other, "ts": time.time()}))
    client.hset(f"{settings.REDIS_PREFIX}:transcription:procs", "gone:2", json.dumps({**other, "ts": time.time() - 60}))
    try:
        current = engine_status()
        assert current["processes"] == 2  # this one (fresh local counts) and "elsewhere"; "gone" is stale
        local = runtime_module.current().clients
        assert current["clients"]["speakers"] == 2 + local["speakers"]
        assert current["clients"]["status"] == 1 + local["status"]
        assert client.hget(f"{settings.REDIS_PREFIX}:transcription:procs", "gone:2") is None
    finally:
        client.delete(f"{settings.REDIS_PREFIX}:transcription:procs")
        client.close()


def test_missing_model_is_reported_by_manage_check(settings):
    from transcription.checks import speech_model_check

    assert speech_model_check() == []
    settings.TRANSCRIPTION_MODEL = "/nonexistent/model"
    (warning,) = speech_model_check()
    assert warning.id == "transcription.W001" and "/nonexistent/model" in warning.msg
