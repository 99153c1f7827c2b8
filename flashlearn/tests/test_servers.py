"""Contract tests of the server adapters (flashlearn/servers/): each pins what its adapter relies on in
a server it does not own, so that an upgrade which moves it fails here, loudly, instead of in production.
The behaviour against real servers is in test_live_transport.py and test_serve.py."""

from __future__ import annotations

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
