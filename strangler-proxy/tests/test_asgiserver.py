"""The corked transport: a response's head and body leave in one write, in order."""

from __future__ import annotations

import httpx

from strangler_proxy.asgiserver import CorkedTransport, corked_http_protocol
from strangler_proxy.testing import ThreadServer, json_app


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _cork() -> tuple[CorkedTransport, Recorder]:
    raw = Recorder()
    return CorkedTransport(raw), raw  # type: ignore[arg-type]


def test_the_head_waits_for_the_body_and_leaves_with_it() -> None:
    cork, raw = _cork()
    cork.expect_head = True

    cork.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert raw.writes == []
    cork.write(b"body")
    cork.write(b"more")

    assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"more"]


def test_a_bodyless_answer_goes_out_when_the_response_completes() -> None:
    cork, raw = _cork()
    cork.expect_head = True
    cork.write(b"HTTP/1.1 204 No Content\r\n\r\n")

    cork.flush()
    cork.flush()

    assert raw.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]


def test_100_continue_is_never_held_and_close_flushes() -> None:
    cork, raw = _cork()
    cork.expect_head = True

    cork.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    cork.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    cork.close()

    assert raw.writes == [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 500 Internal Server Error\r\n\r\n",
    ]
    assert raw.closed


def test_a_new_head_never_overtakes_held_bytes() -> None:
    cork, raw = _cork()
    cork.expect_head = True
    cork.write(b"HEAD1")
    cork.expect_head = True  # a pipelined request's head, before the first one's body

    cork.write(b"HEAD2")
    cork.write(b"BODY2")

    assert b"".join(raw.writes) == b"HEAD1HEAD2BODY2"


def test_uvicorn_with_the_corked_protocol_answers_normally() -> None:
    app = json_app({"ok": True})

    with (
        ThreadServer(app, http=corked_http_protocol()) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        answers = [client.get("/") for _ in range(3)]
        head = client.head("/")

    assert [(a.status_code, a.json()) for a in answers] == [(200, {"ok": True})] * 3
    assert head.status_code == 200
    assert head.headers["content-length"] == "12"  # of the body a GET gets
