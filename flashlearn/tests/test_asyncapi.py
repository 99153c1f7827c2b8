"""docs/asyncapi.yaml is the websocket contract, checked the way the OpenAPI document is for REST:
every route in the routing modules is described, the frames the real consumers send (and the ones
these tests send them) validate against its schemas, close codes are the channel's, and the
User / Message / Session schemas are the OpenAPI components built from messaging/events.py."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from jsonschema import validators

from flashlearn.asgi import application
from flashlearn.breaker import DATABASE, breaker_for
from flashlearn.routing import websocket_urlpatterns
from flashlearn.tests.asyncapi import (
    DOCUMENT,
    DOCUMENT_PATH,
    channel_for,
    check_close,
    check_frame,
    messages_of,
    pointer,
)
from messaging import services
from messaging.apis import SessionOut
from messaging.events import SessionPayload
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, UserFactory, token_for
from transcription import groups

ORIGIN = [(b"origin", b"http://localhost")]


# --- capturing what the consumers send ---------------------------------------------------------


class Recorded(WebsocketCommunicator):
    """A communicator that checks every frame both ways, and every close code, against the channel
    its path belongs to; `seen` names the messages in the order they came."""

    def __init__(self, channel: str, path: str, **kwargs):
        super().__init__(application, path, headers=ORIGIN, **kwargs)
        assert channel_for(self.scope["path"]) == channel, (path, channel_for(self.scope["path"]))
        self.channel = channel
        self.seen: list[str] = []

    async def send_to(self, text_data=None, bytes_data=None):
        check_frame(self.channel, "receive", text_data if text_data is not None else bytes_data)
        await super().send_to(text_data=text_data, bytes_data=bytes_data)

    async def send_invalid(self, text_data=None, bytes_data=None):
        """A frame the document does not allow, sent on purpose (the answer is still checked)."""
        await super().send_to(text_data=text_data, bytes_data=bytes_data)

    async def receive_output(self, timeout=1):
        output = await super().receive_output(timeout)
        if output["type"] == "websocket.send":
            frame = output.get("text") if output.get("text") is not None else output.get("bytes")
            self.seen.append(check_frame(self.channel, "send", frame))
        elif output["type"] == "websocket.close":
            code = output.get("code", 1000)
            check_close(self.channel, code)
            self.seen.append(f"close {code}")
        return output

    async def frame(self, timeout=5) -> dict:
        output = await self.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

    async def until(self, kind: str, timeout=5) -> dict:
        """Frames up to the first of type `kind` (the ones before are checked and recorded too)."""
        while True:
            data = await self.frame(timeout)
            if data["type"] == kind:
                return data

    async def closed(self, timeout=5) -> int:
        while True:
            output = await self.receive_output(timeout)
            if output["type"] == "websocket.close":
                return output.get("code", 1000)

    async def drain(self) -> None:
        while not await self.receive_nothing(timeout=0.2):
            await self.receive_output()


# --- the document covers every route -----------------------------------------------------------


def example_path(address: str) -> str:
    """A channel address with sample parameter values, as the router sees it (no leading slash)."""
    return re.sub(r"\{[^}]+\}", lambda m: "user-7" if m.group(0) == "{stream}" else "42", address).lstrip("/")


def test_every_websocket_route_is_a_channel_of_the_document():
    matched = {}
    for name, channel in DOCUMENT["channels"].items():
        path = example_path(channel["address"])
        route = next((r for r in websocket_urlpatterns if r.pattern.regex.match(path)), None)
        assert route is not None, f"channel {name} ({channel['address']}) matches no route"
        matched.setdefault(route.pattern.regex.pattern, []).append(name)
    routes = {r.pattern.regex.pattern for r in websocket_urlpatterns}
    assert routes - set(matched) == set(), "routes missing from docs/asyncapi.yaml"
    assert all(len(names) == 1 for names in matched.values()), matched
    for name, channel in DOCUMENT["channels"].items():
        assert set(re.findall(r"\{([^}]+)\}", channel["address"])) == set(channel.get("parameters", {})), name


def test_the_document_is_a_valid_asyncapi_3_document():
    spec = json.loads((Path(__file__).parent / "asyncapi_spec" / f"{DOCUMENT['asyncapi']}.json").read_text())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
              for e in validators.validator_for(spec)(spec).iter_errors(DOCUMENT)]
    assert errors == []


def test_references_resolve_and_every_channel_has_both_directions():
    text = DOCUMENT_PATH.read_text()
    for ref in set(re.findall(r"\$ref: '([^']+)'", text)):
        pointer(ref)
    assert DOCUMENT["asyncapi"].startswith("3.")
    codes = DOCUMENT["components"]["x-close-codes"]
    for name, channel in DOCUMENT["channels"].items():
        assert messages_of(name, "send") and messages_of(name, "receive"), name
        assert set(channel["x-close-codes"]) <= set(codes), name
        listed = {entry["$ref"] for op in DOCUMENT["operations"].values() for entry in op["messages"]
                  if op["channel"]["$ref"] == f"#/channels/{name}"}
        assert listed == {f"#/channels/{name}/messages/{key}" for key in channel["messages"]}, name


def test_every_close_code_is_in_the_api_docs_and_the_code():
    """A code listed for a channel is explained in docs/api.md and is one the code base can send."""
    root = DOCUMENT_PATH.parents[1]
    api_md = (root / "docs" / "api.md").read_text()
    sources = "\n".join(path.read_text() for app in ("accounts", "flashlearn", "messaging", "transcription")
                        for path in (root / app).rglob("*.py") if "tests" not in path.parts)
    for code in DOCUMENT["components"]["x-close-codes"]:
        assert re.search(rf"\b{code}\b", api_md), f"close code {code} is not in docs/api.md"
        assert re.search(rf"\b{code}\b", sources), f"close code {code}: nothing in the code sends it"


# --- the shared payloads are the OpenAPI components ----------------------------------------


def shape(schema: dict, document: dict, *, nullable: bool = False) -> dict:
    """What a property is, from an OpenAPI 3.0 or an AsyncAPI (JSON Schema) schema, compared as equal:
    types, nullability, formats, enums, required fields and the descriptions the TypedDicts give."""
    description = schema.get("description")
    while True:
        if "$ref" in schema:
            target = schema["$ref"].rsplit("/", 1)[1]
            resolved = (document["components"]["schemas"][target])
            nullable = nullable or schema.get("nullable", False)
            schema = resolved
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            nullable = nullable or schema.get("nullable", False)
            schema = schema["allOf"][0]
        elif "oneOf" in schema:  # OpenAPI: a nullable enum is oneOf [enum, NullEnum]
            options = [s for s in schema["oneOf"] if "NullEnum" not in s.get("$ref", "")]
            nullable = True if len(options) < len(schema["oneOf"]) else nullable
            schema = options[0]
        else:
            break
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds} if kinds else set()
    if "null" in kinds or schema.get("nullable") or nullable:
        kinds.discard("null")
        nullable = True
    out = {"type": sorted(kinds), "nullable": nullable, "format": schema.get("format"),
           "description": description or (schema.get("description") if "properties" in schema else None)}
    if out["description"]:
        out["description"] = " ".join(out["description"].split())
    if "enum" in schema:
        out["enum"] = sorted(v for v in schema["enum"] if v is not None)
        out["type"] = []
    if "properties" in schema:
        out["properties"] = {k: shape(v, document) for k, v in schema["properties"].items()}
        out["required"] = sorted(schema.get("required", []))
        out["type"] = ["object"]
    return out


@pytest.mark.django_db
def test_shared_payloads_match_the_openapi_components(client):
    openapi = yaml.safe_load(client.get("/api/schema/").content)
    components = openapi["components"]["schemas"]
    pairs = {"User": "User", "Message": "MessageOutput", "Session": "SessionOutput"}
    for ours, theirs in pairs.items():
        expected = shape(components[theirs], openapi)
        if ours == "Session":  # REST adds the caller's own fields to what every member sees
            expected["description"] = " ".join(SessionPayload.__doc__.split())
            for field in SessionOut.__annotations__.keys() - SessionPayload.__annotations__.keys():
                expected["properties"].pop(field)
                if field in expected["required"]:
                    expected["required"].remove(field)
        assert shape(DOCUMENT["components"]["schemas"][ours], DOCUMENT) == expected, ours


# --- frames from the real consumers ---------------------------------------------------------


@pytest.fixture
def chat(transactional_db, settings):
    settings.MESSAGING_PRESENCE_COALESCE = 0.01
    settings.MESSAGING_WS_BURST = 100
    host, member, outsider = UserFactory(), UserFactory(display_name=""), UserFactory()
    session = LiveSessionFactory(host=host)
    MembershipFactory(session=session, user=member)
    return {"host": host, "member": member, "outsider": outsider, "session": session}


def chat_socket(user, session_id, query: str = "") -> Recorded:
    return Recorded("liveSession", f"/ws/live_sessions/{session_id}/?token={token_for(user)}{query}")


@pytest.mark.django_db(transaction=True)
async def test_chat_frames_follow_the_document(chat):
    session_id = chat["session"].pk
    host, member = chat_socket(chat["host"], session_id), chat_socket(chat["member"], session_id)
    assert (await host.connect(timeout=5))[0] and (await host.frame())["type"] == "presence"
    assert (await member.connect(timeout=5))[0]
    snapshot = await member.frame()
    assert snapshot["type"] == "presence" and chat["member"].pk in {u["id"] for u in snapshot["online"]}

    await member.send_to(text_data=json.dumps({"type": "message.send", "body": "hello", "client_id": "c-1"}))
    mine = await member.until("message.new")
    theirs = await host.until("message.new")
    assert mine["message"]["client_id"] == "c-1" and theirs["message"]["client_id"] is None
    await host.send_to(text_data=json.dumps({"type": "typing"}))
    assert (await member.until("typing"))["user"]["id"] == chat["host"].pk
    await member.send_to(text_data=json.dumps({"type": "read", "message_id": mine["message"]["id"]}))
    assert (await member.until("read"))["unread_count"] == 0
    assert "unread_count" not in await host.until("read")
    await member.send_to(text_data=json.dumps({"type": "ping"}))
    await member.until("pong")
    await member.send_to(text_data=json.dumps({"type": "resync", "after_seq": 0}))
    assert (await member.until("message.new"))["replay"] is True
    assert (await member.until("resync.done"))["last_seq"] == 1

    refusals = ["{not json", json.dumps(["no type"]), json.dumps({"type": "nope"}),
                json.dumps({"type": "message.send", "body": "", "client_id": "c-2"}),
                json.dumps({"type": "resync", "after_seq": -1})]
    for text in refusals:
        await member.send_invalid(text_data=text)
        await member.until("error")
    await member.send_invalid(bytes_data=b"\x00\x01")
    assert (await member.until("error"))["code"] == "unsupported_frame"

    message_id = mine["message"]["id"]
    await database_sync_to_async(services.message_edit)(user=chat["member"], message_id=message_id, body="edited")
    assert (await host.until("message.updated"))["message"]["edited_at"]
    await database_sync_to_async(services.message_delete)(user=chat["member"], message_id=message_id)
    assert (await host.until("message.deleted"))["message"]["deleted"] is True
    await database_sync_to_async(services.live_session_update)(
        user=chat["host"], session_id=session_id, fields={"title": "Renamed"})
    assert (await member.until("session.updated"))["session"]["title"] == "Renamed"

    for query, last in (("&after=0", "last_id"), ("&after_seq=0", "last_seq")):
        late = chat_socket(chat["host"], session_id, query)
        assert (await late.connect(timeout=5))[0]
        assert (await late.until("message.new"))["replay"] is True
        assert last in await late.until("replay.done")
        await late.disconnect()

    await database_sync_to_async(services.live_session_leave)(user=chat["member"], session_id=session_id)
    assert (await member.until("error"))["code"] == "not_a_member"
    assert await member.closed() == 4403
    await database_sync_to_async(services.live_session_delete)(user=chat["host"], session_id=session_id)
    await host.until("session.deleted")
    assert await host.closed() == 4404
    await member.disconnect()
    await host.disconnect()
    sent = set(host.seen + member.seen)
    assert {"ChatMessageNew", "ChatTyping", "ChatRead", "ChatPong", "ChatResyncDone", "ChatMessageUpdated",
            "ChatMessageDeleted", "ChatSessionUpdated", "ChatSessionDeleted", "ChatError", "ChatPresence",
            "close 4403", "close 4404"} <= sent


@pytest.mark.django_db(transaction=True)
async def test_chat_refusals_follow_the_document(chat):
    session_id = chat["session"].pk
    anonymous = Recorded("liveSession", f"/ws/live_sessions/{session_id}/")
    await anonymous.connect(timeout=5)
    assert await anonymous.closed() == 4401
    outsider = chat_socket(chat["outsider"], session_id)
    await outsider.connect(timeout=5)
    assert await outsider.closed() == 4403
    breaker_for(DATABASE).failed(ConnectionRefusedError("refused"))  # the database is down
    during_outage = chat_socket(chat["member"], session_id)
    await during_outage.connect(timeout=5)
    assert (await during_outage.frame())["code"] == "database_unavailable"
    assert await during_outage.closed() == 1013
    assert during_outage.seen == ["DependencyUnavailable", "close 1013"]


@pytest.mark.django_db(transaction=True)
async def test_whoami_frames_follow_the_document():
    user = await database_sync_to_async(UserFactory)()
    socket = Recorded("whoami", f"/ws/auth/whoami/?token={token_for(user)}")
    assert (await socket.connect(timeout=5))[0]
    assert (await socket.frame())["user_id"] == user.pk
    await socket.send_to(text_data="hello")
    await socket.send_to(bytes_data=b"\x01")
    assert (await socket.frame())["code"] == (await socket.frame())["code"] == "unsupported_message"
    await socket.disconnect()
    assert socket.seen == ["WhoAmI", "WhoAmIError", "WhoAmIError"]


def caption(stream: str, seq: int, *, final: bool) -> dict:
    """An event as the engine publishes it to the stream's groups (transcription.event)."""
    event = {"type": "transcription.event", "stream": stream, "timestamp": time.time(), "final": final,
             "text": "hello there", "seq": seq}
    if final:
        event.update(segment=None if seq > 2 else seq, stored=seq <= 2, start=0.0, end=1.2)
    return event


@pytest.mark.django_db(transaction=True)
async def test_transcription_frames_follow_the_document():
    user = await database_sync_to_async(UserFactory)()
    token, stream = token_for(user), f"user-{user.pk}"
    layer = get_channel_layer()

    listener = Recorded("transcriptionListener", f"/ws/transcription/{stream}/?token={token}")
    everything = Recorded("allStreams", f"/ws?token={token}")
    for socket in (listener, everything):
        assert (await socket.connect(timeout=10))[0]
    for seq, final in ((1, False), (2, True), (3, True)):  # the last final could not be stored
        await layer.group_send(groups.stream_group(stream), caption(stream, seq, final=final))
        await layer.group_send(groups.ALL_STREAMS, caption(stream, seq, final=final))
        for socket in (listener, everything):
            assert (await socket.frame())["seq"] == seq
            if seq == 3:
                assert (await socket.frame())["code"] == "segment_not_stored"
    for socket in (listener, everything):
        await socket.send_to(text_data=json.dumps({"type": "ping"}))
        assert (await socket.frame())["type"] == "pong"
        await socket.send_invalid(text_data="speak?")
        assert (await socket.frame())["code"] == "invalid_message"
        await socket.disconnect()
        assert socket.seen == ["Transcription"] * 3 + ["SegmentNotStored", "TranscriptionPong", "TranscriptionError"]

    status = Recorded("status", f"/st?token={token}")
    assert (await status.connect(timeout=10))[0]
    await status.frame()
    await status.send_to(text_data="now?")
    await status.until("status")
    await status.disconnect()
    assert set(status.seen) == {"Status"}


@pytest.mark.django_db(transaction=True)
async def test_transcription_refusals_follow_the_document(settings):
    settings.TRANSCRIPTION_MODEL = "/nonexistent/model"  # the engine cannot start: a refusal, not a crash
    user, other = await database_sync_to_async(UserFactory)(), await database_sync_to_async(UserFactory)()
    token = token_for(user)
    cases = [
        ("transcriptionAudio", f"/ws/transcription/user-{user.pk}/audio/?token={token}", 4503),
        ("transcriptionAudio", f"/ws/transcription/user-{other.pk}/audio/?token={token}", 4403),
        ("transcriptionAudio", f"/ws/transcription/bad!name/audio/?token={token}", 4400),
        ("transcriptionListener", f"/ws/transcription/user-{other.pk}/?token={token}", 4403),
        ("transcriptionListener", f"/ws/transcription/bad!name/?token={token}", 4400),
        ("transcriptionListener", f"/ws/transcription/user-{user.pk}/", 4401),
        ("status", "/st", 4401),
    ]
    for channel, path, code in cases:
        socket = Recorded(channel, path)
        await socket.connect(timeout=10)
        assert await socket.closed(timeout=10) == code, path
        await socket.disconnect()
        if code != 4401:
            assert len(socket.seen) == 2, socket.seen  # the frame saying why, then the close
