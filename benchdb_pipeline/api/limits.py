"""Request bodies are bounded before they are read: a declared length over the limit is
refused at once (413), and a streamed body the moment it passes the limit. What the client
still sends is then discarded as it arrives (never held), up to ``DRAIN`` bytes, so that it
reads the 413 instead of a reset connection."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DRAIN = 256 * 2**20


class BodyLimit:
    """ASGI middleware: at most ``limit_for(path)`` bytes of request body."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app, self.limit_for = app, limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, limit)
            await _discard(receive)
            return
        seen, refused = 0, False

        async def bounded() -> Message:
            # Past the limit: answer 413 here, discard the rest, and tell the app the client
            # left (an exception would reach FastAPI's body parser and become a 400).
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    await _refuse(send, limit)
                    await _discard(receive)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, bounded, guarded)


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps({"detail": f"the request body is larger than {limit:,} bytes"})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _discard(receive: Receive) -> None:
    drained = 0
    while drained < DRAIN:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return
        drained += len(message.get("body", b""))
