"""The monolith is served with keep-alive: one TCP connection carries many requests (the
strangler proxy in front depends on it; gunicorn's sync workers would close every one)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from stages.processes import MonolithConfig, Server, monolith_prepare, monolith_start


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cfg = MonolithConfig(var_dir=Path(tmp_path_factory.mktemp("keepalive")), workers=1, threads=2)
    monolith_prepare(cfg)
    running = monolith_start(cfg)
    yield running
    running.stop()


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_one_connection_serves_many_requests(server: Server) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(5):
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: test\r\n\r\n")
            head = _read_response(sock)
            assert head.startswith(b"HTTP/1.1 200")
            assert b"connection: close" not in head.lower()
