"""Refusing requests before they cost anything: bodies over the size limit (413) and addresses
or form fields with a NUL character (400), which no page needs and which PostgreSQL refuses in
any text.

A body that declares its length is refused before a byte of it is read; one sent in chunks is
counted as it arrives and refused at the limit. JSON bodies are parsed in a worker thread when
they are big, so that parsing never holds up the event loop (every other request).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

#: JSON bodies up to this size are parsed on the event loop (microseconds); bigger ones in a
#: thread.
PARSE_INLINE_BYTES = 16_384


def _has_nul(scope) -> bool:
    query = scope.get("query_string", b"").lower()
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


def _is_form(scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.lower().startswith(b"application/x-www-form-urlencoded")
    return False


def _nul_in_form(messages) -> bool:
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    return b"%00" in body.lower() or b"\x00" in body


def _declared_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


class RequestGuard:
    """Pure ASGI middleware; ``error(request, status)`` builds the answer to a refused request
    (called in a thread: it may render a page)."""

    def __init__(self, app, *, max_body_bytes: int, error: Callable):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.error = error

    async def _refuse(self, scope, receive, send, status: int) -> None:
        response = await run_in_threadpool(self.error, Request(scope), status)
        await response(scope, receive, send)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _has_nul(scope):
            await self._refuse(scope, receive, send, 400)
            return
        declared = _declared_length(scope)
        if declared is not None:
            if declared < 0:
                await self._refuse(scope, receive, send, 400)
            elif declared > self.max_body_bytes:
                await self._refuse(scope, receive, send, 413)
            elif _is_form(scope):  # small: read it here to look for a NUL
                await self._buffered(scope, receive, send)
            else:  # the server never passes on more than the declared length
                await self.app(scope, receive, send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        await self._buffered(scope, receive, send)

    async def _buffered(self, scope, receive, send) -> None:
        messages, size = [], 0
        while True:  # read it here, at most the limit, then hand it on
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await self._refuse(scope, receive, send, 413)
                return
            if not message.get("more_body", False):
                break
        if _is_form(scope) and _nul_in_form(messages):
            await self._refuse(scope, receive, send, 400)
            return
        replay = iter(messages)

        async def replayed():
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


async def json_object(request: Request) -> dict:
    """The request's JSON object (a dependency); big bodies are parsed in a thread.

    Anything but a JSON object is a 422 naming the body.
    """
    body = await request.body()
    try:
        payload = (json.loads(body) if len(body) <= PARSE_INLINE_BYTES
                   else await asyncio.to_thread(json.loads, body))
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise RequestValidationError([{"loc": ("body",), "msg": "must be a JSON object",
                                       "type": "json_invalid"}])
    return payload


__all__ = ["PARSE_INLINE_BYTES", "RequestGuard", "json_object"]
