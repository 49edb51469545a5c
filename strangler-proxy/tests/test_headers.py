"""Header hygiene: hop-by-hop and internal headers out, forwarding and trace headers in."""

from __future__ import annotations

from strangler_proxy.headers import inbound, outbound

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _names(headers: list[tuple[bytes, bytes]]) -> list[bytes]:
    return [name for name, _ in headers]


def test_hop_by_hop_and_connection_named_headers_are_dropped() -> None:
    info = inbound(
        [
            (b"host", b"shop.test"),
            (b"connection", b"keep-alive, x-secret-hop"),
            (b"keep-alive", b"timeout=5"),
            (b"te", b"trailers"),
            (b"trailer", b"x-checksum"),
            (b"upgrade", b"h2c"),
            (b"proxy-authorization", b"Basic abc"),
            (b"proxy-connection", b"keep-alive"),
            (b"expect", b"100-continue"),
            (b"x-secret-hop", b"1"),
            (b"accept", b"application/json"),
        ],
        client_ip="10.1.2.3",
        scheme="http",
    )

    names = _names(info.headers)
    for dropped in (
        b"connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-connection",
        b"expect",
        b"x-secret-hop",
    ):
        assert dropped not in names
    assert (b"accept", b"application/json") in info.headers
    assert (b"host", b"shop.test") in info.headers


def test_client_supplied_internal_headers_are_dropped() -> None:
    info = inbound(
        [
            (b"x-strangler-shadow", b"1"),
            (b"x-strangler-dry-run", b"1"),
            (b"x-strangler-generation", b"99"),
            (b"x-user-id", b"1"),
            (b"x-user-email", b"admin@shop.test"),
            (b"x-user-staff", b"true"),
            (b"authorization", b"Bearer t"),
        ],
        client_ip="10.1.2.3",
        scheme="http",
    )

    assert not [n for n in _names(info.headers) if n.startswith(b"x-strangler-")]
    assert not [n for n in _names(info.headers) if n.startswith(b"x-user-")]
    assert (b"authorization", b"Bearer t") in info.headers  # services verify it themselves
    assert info.authorization == "Bearer t"


def test_forwarding_headers_are_set_from_the_connection() -> None:
    info = inbound(
        [
            (b"host", b"shop.test:8080"),
            (b"x-forwarded-for", b"6.6.6.6"),
            (b"x-forwarded-proto", b"https"),
            (b"x-forwarded-host", b"evil.test"),
        ],
        client_ip="10.1.2.3",
        scheme="http",
    )

    headers = dict(info.headers)
    assert headers[b"x-forwarded-for"] == b"10.1.2.3"  # a client cannot choose its address
    assert headers[b"x-forwarded-proto"] == b"http"
    assert headers[b"x-forwarded-host"] == b"shop.test:8080"
    assert _names(info.headers).count(b"x-forwarded-for") == 1


def test_a_trusted_proxy_in_front_keeps_the_chain() -> None:
    info = inbound(
        [
            (b"host", b"shop.test"),
            (b"x-forwarded-for", b"1.1.1.1"),
            (b"x-forwarded-proto", b"https"),
        ],
        client_ip="10.1.2.3",
        scheme="http",
        trust_forwarded=True,
    )

    headers = dict(info.headers)
    assert headers[b"x-forwarded-for"] == b"1.1.1.1, 10.1.2.3"
    assert headers[b"x-forwarded-proto"] == b"https"


def test_request_ids_are_kept_when_sane_and_made_otherwise() -> None:
    kept = inbound([(b"x-request-id", b"abc-123")], client_ip="", scheme="http")
    made = inbound([(b"x-request-id", b"bad id!\r\n")], client_ip="", scheme="http")
    fresh = inbound([], client_ip="", scheme="http")

    assert kept.request_id == "abc-123"
    assert len(made.request_id) == 32
    assert made.request_id != "bad id!"
    assert len(fresh.request_id) == 32
    assert dict(kept.headers)[b"x-request-id"] == b"abc-123"
    assert _names(made.headers).count(b"x-request-id") == 1


def test_a_valid_traceparent_is_continued() -> None:
    info = inbound(
        [(b"traceparent", f"00-{TRACE}-{PARENT}-01".encode())], client_ip="", scheme="http"
    )

    assert (info.trace_id, info.parent_span, info.sampled) == (TRACE, PARENT, True)
    assert b"traceparent" not in _names(info.headers)  # the proxy sends its own, per call


def test_an_invalid_traceparent_starts_a_new_trace() -> None:
    for bad in (
        b"00-" + b"0" * 32 + b"-" + PARENT.encode() + b"-01",
        b"garbage",
        b"ff-" + TRACE.encode() + b"-" + PARENT.encode() + b"-01",
    ):
        info = inbound([(b"traceparent", bad)], client_ip="", scheme="http")
        assert len(info.trace_id) == 32
        assert info.trace_id != TRACE
        assert info.parent_span == ""


def test_chunked_wins_over_a_content_length() -> None:
    info = inbound(
        [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")],
        client_ip="",
        scheme="http",
    )

    assert info.chunked
    assert info.content_length is None
    assert b"content-length" not in _names(info.headers)
    assert b"transfer-encoding" not in _names(info.headers)  # re-framed by the proxy


def test_a_bad_content_length_is_flagged() -> None:
    assert inbound([(b"content-length", b"ten")], client_ip="", scheme="http").bad_length


def test_answers_lose_hop_by_hop_headers_and_gain_ids() -> None:
    headers = outbound(
        [
            (b"content-type", b"application/json"),
            (b"connection", b"keep-alive, x-internal"),
            (b"keep-alive", b"timeout=75"),
            (b"transfer-encoding", b"chunked"),
            (b"x-internal", b"1"),
            (b"date", b"Thu, 01 Jan 2026 00:00:00 GMT"),
        ],
        request_id="rid-1",
        generation=b"7",
    )

    assert headers == [
        (b"content-type", b"application/json"),
        (b"date", b"Thu, 01 Jan 2026 00:00:00 GMT"),
        (b"x-request-id", b"rid-1"),
        (b"x-strangler-generation", b"7"),
    ]


def test_the_upstream_request_id_is_not_doubled() -> None:
    headers = outbound([(b"x-request-id", b"up-1")], request_id="rid-1", generation=b"1")

    assert headers.count((b"x-request-id", b"up-1")) == 1
    assert (b"x-request-id", b"rid-1") not in headers
