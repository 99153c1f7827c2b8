"""docs/asyncapi.yaml for tests: its channels, and checks of frames against its message schemas.

Loaded as a plugin (`pytest_plugins = ["flashlearn.tests.asyncapi"]` in the root conftest.py), its
autouse fixture checks every frame and close code any `WebsocketCommunicator` receives, in every
test, against the channel of the document its path belongs to (as Zulip checks every event against
its schema): a consumer that sends a frame the document does not describe fails the test that saw it.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
import yaml
from channels.testing import WebsocketCommunicator
from jsonschema import Draft7Validator

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
DOCUMENT = yaml.safe_load(DOCUMENT_PATH.read_text())
BINARY = "application/octet-stream"


# --- reading the document -------------------------------------------------------------------


def pointer(ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = DOCUMENT
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(node: dict) -> tuple[dict, str | None]:
    """The node a `$ref` chain ends at, and the last reference followed."""
    ref = None
    while "$ref" in node:
        ref = node["$ref"]
        node = pointer(ref)
    return node, ref


def validator(payload_ref: str) -> Draft7Validator:
    # `$ref`s inside the payload point into the whole document: validate against it as the root.
    root = {"$ref": payload_ref, "components": DOCUMENT["components"]}
    return Draft7Validator(root, format_checker=Draft7Validator.FORMAT_CHECKER)


@functools.cache
def messages_of(channel: str, action: str) -> list[tuple[str, dict, Draft7Validator]]:
    """(name, message, payload validator) for each message of `channel`'s operations doing `action`."""
    found = []
    for operation in DOCUMENT["operations"].values():
        if operation["action"] != action or operation["channel"]["$ref"] != f"#/channels/{channel}":
            continue
        for entry in operation["messages"]:
            message, ref = deref(entry)
            assert ref and ref.startswith("#/components/messages/"), entry
            found.append((ref.rsplit("/", 1)[1], message, validator(f"{ref}/payload")))
    return found


def check_frame(channel: str, action: str, frame: str | bytes) -> str:
    """The name of the message `frame` is; fails with the schema errors of the candidates."""
    candidates = messages_of(channel, action)
    assert candidates, f"no {action} operation for channel {channel}"
    if isinstance(frame, bytes):
        names = [name for name, message, _ in candidates if message.get("contentType") == BINARY]
        assert names, f"{channel}: a binary frame, but no binary message ({action})"
        return names[0]
    try:
        data = json.loads(frame)
    except ValueError:  # text that is not JSON: only a message that takes any frame allows it
        names = [name for name, message, _ in candidates if message.get("payload") == {}]
        assert names, f"{channel}: {frame!r} is not JSON, and no message takes any frame ({action})"
        return names[0]
    errors = {}
    for name, message, check in candidates:
        if message.get("contentType") == BINARY and message.get("payload") != {}:
            continue
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(data)]
        if not problems:
            return name
        if data.get("type") == message.get("name"):
            errors[name] = problems
    raise AssertionError(f"docs/asyncapi.yaml, channel {channel} ({action}): {data} matches no message; "
                         f"{errors or 'no message of its type'}. Describe the frame there (or fix the consumer).")


def check_close(channel: str, code: int) -> None:
    assert code in DOCUMENT["channels"][channel]["x-close-codes"], (
        f"docs/asyncapi.yaml, channel {channel}: close code {code} is not in its x-close-codes")


def address_pattern(address: str) -> re.Pattern:
    """A channel address as a regex over request paths (the trailing slash optional, as the routes)."""
    parts = re.split(r"(\{[^}]+\})", address.rstrip("/"))
    body = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
    return re.compile(f"^{body}/?$")


def channel_for(path: str) -> str | None:
    for name, channel in DOCUMENT["channels"].items():
        if address_pattern(channel["address"]).match(path):
            return name
    return None


@pytest.fixture(autouse=True)
def frames_follow_asyncapi(monkeypatch):
    """Every frame and close code a communicator receives is checked against its channel."""
    check_every_frame(monkeypatch)


def check_every_frame(monkeypatch) -> None:
    receive_output = WebsocketCommunicator.receive_output

    async def checked(self, timeout=1):
        output = await receive_output(self, timeout)
        channel = channel_for(self.scope["path"])
        if channel is None:  # a test's own route; every project route is a channel (test_asyncapi.py)
            return output
        if output["type"] == "websocket.send":
            check_frame(channel, "send", output["text"] if output.get("text") is not None else output["bytes"])
        elif output["type"] == "websocket.close":
            check_close(channel, output.get("code", 1000))
        return output

    monkeypatch.setattr(WebsocketCommunicator, "receive_output", checked)
