"""The fault harness itself (flashlearn/tests/faults.py): each mode does what other tests rely on."""

from __future__ import annotations

import shutil
import socket

import pytest

from flashlearn.tests.faults import FaultProxy, RedisServer

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def ping(port: int, *, timeout: float = 2.0) -> bytes:
    """One RESP PING over a fresh connection: b'+PONG' when it went through."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).strip()


@pytest.fixture
def redis_server():
    with RedisServer() as server:
        yield server


@pytest.fixture
def proxy(redis_server):
    with FaultProxy("127.0.0.1", redis_server.port) as proxy:
        yield proxy


def test_pass_forwards_both_ways(proxy):
    assert ping(proxy.port) == b"+PONG"
    assert proxy.accepted == 1


def test_refuse_closes_the_port_and_cuts_open_connections(proxy):
    open_conn = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
    open_conn.sendall(b"PING\r\n")
    assert open_conn.recv(16).startswith(b"+PONG")
    proxy.refuse()
    with pytest.raises(ConnectionRefusedError):
        ping(proxy.port)
    assert open_conn.recv(16) == b""  # cut: end of stream
    open_conn.close()
    proxy.pass_through()
    assert ping(proxy.port) == b"+PONG"


def test_drop_accepts_and_hangs_up(proxy):
    proxy.drop()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as sock:
        sock.sendall(b"PING\r\n")
        try:
            assert sock.recv(16) == b""
        except ConnectionResetError:
            pass  # also a hang-up
    proxy.pass_through()
    assert ping(proxy.port) == b"+PONG"


def test_stall_holds_bytes_until_passing_again(proxy):
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as sock:
        proxy.stall()
        sock.sendall(b"PING\r\n")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(16)
        proxy.pass_through()
        sock.settimeout(2)
        assert sock.recv(16).startswith(b"+PONG")  # held, not lost


def test_stall_accepts_new_connections_and_never_answers(proxy):
    proxy.stall()
    with pytest.raises(TimeoutError):
        ping(proxy.port, timeout=0.3)


def test_private_redis_stops_and_starts_on_the_same_port(redis_server):
    port = redis_server.port
    redis_server.stop()
    assert not redis_server.ping()
    redis_server.start()
    assert redis_server.port == port and redis_server.ping()
