"""Static files and the Plotly bundle sent gzip-compressed to browsers that accept it.

The Plotly bundle is 4.8 MB and about 1.4 MB compressed: it is compressed once, in memory, on
first use (or by the page warmer at start-up) instead of on every request. The small files under
``/static`` go through Starlette's ``GZipMiddleware``. Pages are not compressed: they hold CSRF
and session-bound tokens next to text the visitor controls, which compression would expose to
BREACH-style guessing.
"""

from __future__ import annotations

import gzip
import threading
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


class GzippedFile:
    """One file, answered compressed when the client accepts gzip, with ``Cache-Control``."""

    def __init__(self, path: Path, media_type: str, max_age: int = 86400):
        self.path = path
        self.media_type = media_type
        self.headers = {"Cache-Control": f"public, max-age={max_age}", "Vary": "Accept-Encoding"}
        self._lock = threading.Lock()
        self._body: bytes | None = None

    def compressed(self) -> bytes:
        """The gzip-compressed content, computed on the first call."""
        with self._lock:
            if self._body is None:
                self._body = gzip.compress(self.path.read_bytes(), compresslevel=6, mtime=0)
            return self._body

    def response(self, request: Request, cache_control: str | None = None) -> Response:
        """The file; ``cache_control`` replaces the default lifetime (a versioned address)."""
        headers = self.headers if cache_control is None else {**self.headers,
                                                               "Cache-Control": cache_control}
        if not accepts_gzip(request):
            return FileResponse(self.path, media_type=self.media_type, headers=headers)
        return Response(self.compressed(), media_type=self.media_type,
                        headers={**headers, "Content-Encoding": "gzip"})


def compressed_static(directory: str):
    """The ``/static`` application: files compressed on the fly when larger than 500 bytes."""
    return GZipMiddleware(StaticFiles(directory=directory), minimum_size=500)


__all__ = ["GzippedFile", "accepts_gzip", "compressed_static"]
