"""The mutant itself: an ASGI reverse proxy that applies one mutation to every answer.

python -m tests.mutants.proxy --upstream http://127.0.0.1:8000 --mutation declined-as-ok --port 9000
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn

from .mutations import MUTATIONS, Answer, Mutation

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Never forwarded: they describe one connection, or the body the mutant may rewrite.
_DROPPED = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"upgrade",
        b"content-length",
        b"content-encoding",
        b"accept-encoding",
    }
)


class MutantProxy:
    def __init__(self, upstream: str, mutation: Mutation) -> None:
        self.upstream = upstream.rstrip("/")
        self.mutation = mutation
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _DROPPED]
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=60.0)
        url = self.upstream + scope.get("raw_path", path.encode()).decode("latin-1")
        try:
            upstream = await self.client.request(
                scope["method"], url + (f"?{query}" if query else ""), headers=headers, content=body
            )
        except httpx.HTTPError as exc:
            await _answer(send, 502, [(b"content-type", b"text/plain")], str(exc).encode())
            return
        answer = Answer(
            upstream.status_code, upstream.content, upstream.headers.get("content-type", "")
        )
        mutated = self.mutation(scope["method"], path, answer)
        out_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k.lower().encode() not in _DROPPED
        ]
        await _answer(send, mutated.status, out_headers, mutated.body)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(timeout=60.0)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--mutation", required=True, choices=sorted(MUTATIONS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = MutantProxy(args.upstream, MUTATIONS[args.mutation])
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
