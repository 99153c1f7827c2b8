"""Contract tests of the server adapters (flashlearn/servers/): each pins what its adapter relies on in
a server it does not own, so that an upgrade which moves it fails here, loudly, instead of in production.
The behaviour against real servers is in test_live_transport.py and test_serve.py."""

from __future__ import annotations

import contextlib
import inspect
from functools import partial

import pytest

from flashlearn import servers


def test_each_adapter_refuses_another_major_version_and_accepts_its_own():
    from flashlearn.servers import daphne as daphne_adapter
    from flashlearn.servers import uvicorn as uvicorn_adapter

    for adapter, own, other, name in ((daphne_adapter, "4.2.1", "5.0.0", "daphne 4.2"),
                                      (uvicorn_adapter, "0.38.2", "1.0.0", "uvicorn 0.38")):
        adapter.check_version(own)
        with pytest.raises(SystemExit) as info:
            adapter.check_version(other)
        assert f"written for {name}" in str(info.value)


def test_installed_servers_are_the_versions_the_adapters_were_written_for():
    import daphne
    import uvicorn

    from flashlearn.servers.daphne import WRITTEN_FOR_DAPHNE
    from flashlearn.servers.uvicorn import WRITTEN_FOR_UVICORN

    assert daphne.__version__.startswith(WRITTEN_FOR_DAPHNE + "."), "re-check flashlearn/servers/daphne.py"
    assert uvicorn.__version__.startswith(WRITTEN_FOR_UVICORN + "."), "re-check flashlearn/servers/uvicorn.py"


def test_every_server_has_a_worker_command_on_the_inherited_socket():
    for name in servers.SERVERS:
        command = servers.worker_command(name, 7)
        assert "7" in command and f"flashlearn.servers.{name}" in command
    with pytest.raises(ValueError):
        servers.worker_command("gunicorn", 7)


# --- daphne ----------------------------------------------------------------------------------


def test_daphne_send_is_a_partial_of_handle_reply():
    """DaphneSockets finds a socket from its ASGI `send`, which daphne builds in create_application."""
    import daphne.server

    assert "partial(self.handle_reply, protocol)" in inspect.getsource(daphne.server.Server.create_application)


class FakeReactor:
    def addWriter(self, writer):  # noqa: N802 (Twisted's name)
        pass


def test_twisted_write_buffer_is_where_the_adapter_reads_it():
    """The slow-reader close (4408) under daphne reads Twisted's unread bytes through these private names."""
    from twisted.internet.abstract import FileDescriptor

    from flashlearn.servers.daphne import protocol_backlog

    transport = FileDescriptor(reactor=FakeReactor())
    transport.connected = True
    transport.write(b"x" * 1000)
    transport.write(b"y" * 500)
    protocol = type("Protocol", (), {"transport": transport})()
    assert protocol_backlog(protocol) == 1500


def test_daphne_sockets_find_only_their_own_servers_sockets():
    from flashlearn.servers.daphne import DaphneSockets

    class Server:
        connections: dict = {}

        async def handle_reply(self, protocol, message):
            pass

    mine, other = Server(), Server()
    protocol = object()
    access = DaphneSockets(mine)
    assert access.protocol(partial(mine.handle_reply, protocol)) is protocol
    assert access.protocol(partial(other.handle_reply, protocol)) is None
    assert access.protocol(mine.handle_reply) is None
    assert access.backlog(partial(other.handle_reply, protocol)) == 0


def test_autobahn_still_refuses_the_server_close_codes_the_adapter_writes_itself():
    """FlashlearnWebSocketProtocol sends 1001 and 1011-1014 with sendCloseFrame because sendClose
    refuses them; if autobahn starts accepting them, the override can go."""
    from autobahn.websocket.protocol import WebSocketProtocol

    from flashlearn.servers.daphne import SERVER_CLOSE_CODES, FlashlearnWebSocketProtocol

    assert issubclass(FlashlearnWebSocketProtocol, WebSocketProtocol)
    protocol = FlashlearnWebSocketProtocol()  # daphne's, as the adapter's server builds it
    for code in SERVER_CLOSE_CODES:
        with pytest.raises(Exception, match=f"invalid close code {code}"):  # noqa: B017 (autobahn's bare Exception)
            protocol.sendClose(code=code)


def test_head_limit_ends_a_head_where_twisted_does(settings):
    """HeadLimit watches each head up to b"\\r\\n\\r\\n" because Twisted's HTTPChannel (a LineReceiver on
    b"\\r\\n") ends a head only there: a bare-LF head is never parsed, so it is no valid request to spare.
    Twisted is not pinned: if a release accepts bare LF, this fails, and HeadLimit must end heads at
    b"\\n\\n" too (else it would 431 a valid request, or after an upgrade write into websocket frames)."""
    from twisted.internet.testing import StringTransport
    from twisted.web import resource, server

    from flashlearn.servers.daphne import HeadLimitFactory

    class Echo(resource.Resource):
        isLeaf = True

        def render(self, request):
            return b"got %d" % len(request.content.read())

    settings.HTTP_MAX_HEADER_BYTES = 1024

    def exchange(data: bytes) -> bytes:
        protocol = HeadLimitFactory(server.Site(Echo(), timeout=None)).buildProtocol(("127.0.0.1", 5000))
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(data)
        protocol.connectionLost(None)
        return transport.value()

    body = b"x" * 4096  # past the head cap: once the head has ended, HeadLimit lets it through
    answer = exchange(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"got 4096")
    assert exchange(b"POST / HTTP/1.1\nHost: a\nContent-Length: 5\n\nhello") == b""


# --- uvicorn ---------------------------------------------------------------------------------


def test_uvicorn_shutdown_and_websocket_protocol_are_what_the_drain_overrides():
    """DrainingServer runs before uvicorn's own shutdown, which closes every websocket with 1012."""
    import uvicorn
    from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol

    source = inspect.getsource(uvicorn.Server.shutdown)
    assert "server.close()" in source and "connection.shutdown()" in source
    assert "fail_connection(1012)" in inspect.getsource(WebSocketProtocol.shutdown)
    assert inspect.iscoroutinefunction(WebSocketProtocol.send) and inspect.iscoroutinefunction(WebSocketProtocol.close)


def test_uvicorn_config_is_the_project_behind_the_head_limits():
    from flashlearn.servers import uvicorn as adapter

    config = adapter.config()
    assert config.app == "flashlearn.servers.uvicorn:application" and config.factory
    assert config.proxy_headers is False  # uvicorn would otherwise trust X-Forwarded-For from loopback
    assert config.access_log is False and config.lifespan == "off"
    assert (config.http, config.ws) == ("httptools", "websockets")
    assert config.ws_per_message_deflate is False  # fan-out would compress each frame once per socket


async def test_uvicorn_head_limit_answers_414_and_431_before_the_application(settings):
    import json

    from flashlearn.servers.uvicorn import HeadLimit

    settings.HTTP_MAX_REQUEST_LINE_BYTES = 100
    settings.HTTP_MAX_HEADER_BYTES = 300
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    async def answer(path: str, query: bytes, headers: list) -> list:
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": query,
                 "headers": headers}
        await HeadLimit(app)(scope, None, send)
        return sent

    assert await answer("/healthz", b"a=1", [(b"host", b"x")]) == [] and reached == ["/healthz"]
    long_line = await answer("/healthz", b"a" * 100, [(b"host", b"x")])
    assert long_line[0]["status"] == 414
    assert json.loads(long_line[1]["body"])["error"]["code"] == "request_line_too_long"
    big_head = await answer("/healthz", b"", [(b"x-filler", b"b" * 300)])
    assert big_head[0]["status"] == 431
    assert json.loads(big_head[1]["body"])["error"]["code"] == "headers_too_large"
    assert reached == ["/healthz"]


# --- uvicorn: the fan-out writer (UvicornSockets) ----------------------------------------------


def test_uvicorn_send_is_the_protocols_bound_asgi_send():
    """UvicornSockets finds a socket from the application's `send`, the protocol's bound asgi_send."""
    from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol

    assert "self.app(self.scope, self.asgi_receive, self.asgi_send)" in inspect.getsource(WebSocketProtocol.run_asgi)


def test_websockets_is_the_version_the_uvicorn_writer_was_written_for(caplog):
    import websockets

    from flashlearn.servers.uvicorn import WRITTEN_FOR_WEBSOCKETS, UvicornSockets, socket_access

    assert websockets.__version__.startswith(WRITTEN_FOR_WEBSOCKETS + "."), "re-check UvicornSockets (uvicorn.py)"

    class Server:
        server_state = type("State", (), {"connections": set()})()

    assert isinstance(socket_access(Server(), "15.9"), UvicornSockets)
    assert socket_access(Server(), "16.0") is None  # another major version: the awaited path only
    assert "off" in caplog.text


def test_uvicorn_prepared_frame_is_the_frame_websockets_writes():
    """The direct writer's bytes are what uvicorn's websocket protocol (websockets' legacy one) writes
    itself for that text, through the method its `send` uses."""
    from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol
    from websockets.frames import OP_TEXT

    from flashlearn.servers.uvicorn import PreparedFrames

    written = []
    protocol = type("Protocol", (), {"transport": type("Transport", (), {"write": staticmethod(written.append)})(),
                                     "is_client": False, "extensions": [], "debug": False})()
    WebSocketProtocol.write_frame_sync(protocol, True, OP_TEXT, "héllo".encode())
    frames = PreparedFrames()
    text = "héllo"
    assert frames.get(text) == b"".join(written) == b"\x81\x06h\xc3\xa9llo"
    assert frames.get(text) is frames.get(text)  # built once
    long = "x" * 70000  # the 64-bit length form
    assert frames.get(long)[:2] == b"\x81\x7f" and len(frames.get(long)) == 70000 + 10


@contextlib.asynccontextmanager
async def uvicorn_serving(app):
    """One uvicorn server (the adapter's http/ws choices) on a loopback port, in this event loop."""
    import asyncio
    import socket

    import uvicorn

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning", http="httptools",
                            ws="websockets", ws_per_message_deflate=False, ws_ping_interval=None)
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[listener]))
    try:
        while not server.started:
            assert not serving.done(), serving.exception()
            await asyncio.sleep(0.01)
        yield server, listener.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)


async def test_uvicorn_direct_writer_keeps_order_with_awaited_frames_and_stops_once_closed():
    import asyncio

    import websockets

    from flashlearn.servers.uvicorn import UvicornSockets

    seen = {}
    finished = asyncio.Event()

    async def app(scope, receive, send):
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        writer = access.direct_writer(send)
        seen["before_open"] = writer("too early")  # accepted, handshake not written yet: the awaited way
        await send({"type": "websocket.send", "text": "1"})  # waits for the handshake
        seen["direct"] = [writer("2"), writer("3")]
        await send({"type": "websocket.send", "text": "4"})
        seen["foreign"] = access.direct_writer(receive), access.backlog(receive)
        await receive()  # the client closes
        seen["after_close"] = writer("5")
        finished.set()

    async with uvicorn_serving(app) as (server, port):
        access = UvicornSockets(server)
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
            assert [await client.recv() for _ in range(4)] == ["1", "2", "3", "4"]
        await asyncio.wait_for(finished.wait(), 5)
    assert seen == {"before_open": False, "direct": [True, True], "foreign": (None, 0), "after_close": False}


async def test_uvicorn_backlog_is_what_a_client_that_stops_reading_left_unread():
    """The slow-reader close (4408) under uvicorn reads the transport's public write-buffer size."""
    import asyncio
    import socket

    import websockets

    from flashlearn.servers.uvicorn import UvicornSockets

    backlogs = []
    release = asyncio.Event()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": "open"})
        writer = access.direct_writer(send)
        backlogs.append(writer.backlog())
        chunk = "x" * 4000
        for _ in range(2000):  # 8 MB, more than loopback's socket buffers hold
            assert writer(chunk)
        backlogs.append(writer.backlog())
        release.set()
        await receive()

    async with uvicorn_serving(app) as (server, port):
        access = UvicornSockets(server)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        async with websockets.connect(f"ws://127.0.0.1:{port}/", sock=sock, max_queue=1) as client:
            assert await client.recv() == "open"
            await asyncio.wait_for(release.wait(), 10)
            # what the client has not read is still held for it, then goes once it reads
            assert backlogs[0] == 0 and backlogs[1] > 1_000_000
            for _ in range(2000):
                assert len(await asyncio.wait_for(client.recv(), 10)) == 4000


async def test_uvicorn_direct_writer_asks_the_credential_guard_before_each_frame():
    """Through messaging.transport, as the chat consumer writes: the guard's synchronous check comes
    before every direct frame; once the credentials lapsed the frame takes the guard's send (4401)."""
    import asyncio
    import time

    import websockets

    from accounts.authentication import SocketCredentials
    from accounts.websocket import CredentialGuard
    from flashlearn.servers.uvicorn import UvicornSockets
    from messaging.transport import direct_writer, transport_backlog

    seen = {}

    async def app(scope, receive, send):
        await receive()
        credentials = SocketCredentials(user_id=1, token_version=0, expires_at=time.time() + 60)
        guard = CredentialGuard(credentials, send, recheck_seconds=30)
        await guard.send({"type": "websocket.accept"})
        await guard.send({"type": "websocket.send", "text": "awaited"})
        write = direct_writer(guard.send)
        seen["first"] = write("direct")
        seen["backlog"] = transport_backlog(guard.send), write.backlog()
        guard.valid = False  # lapsed (a token-version change seen by the guard's timer)
        seen["lapsed"] = write("never")
        await guard.send({"type": "websocket.send", "text": "never either"})  # closes 4401
        await receive()

    async with uvicorn_serving(app) as (server, port):
        servers.serving(UvicornSockets(server))
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
                assert [await client.recv() for _ in range(2)] == ["awaited", "direct"]
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(client.recv(), 5)
                assert closed.value.rcvd.code == 4401
        finally:
            servers.serving(None)
    assert seen == {"first": True, "backlog": (0, 0), "lapsed": False}
