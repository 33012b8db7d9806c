"""Versioned addresses of the static files and of the Plotly bundle, which browsers keep a year.

Pages name ``/static/charts.js?v=<the first 12 hex digits of the file's SHA-256>`` and
``/vendor/plotly-<the plotly package's version>.min.js``. Asked for under the current version,
both are answered with ``Cache-Control: public, max-age=31536000, immutable``: a browser takes
them from its cache on every later page without asking the server again, even on a reload, and
Chromium, having run the script before, also keeps V8's compiled code for it. A new release
changes the address, never what an address holds, so nobody runs yesterday's script with
today's page. An address without the version (or with another) is still answered: static
files with ``no-cache`` (the browser revalidates by ETag), the Plotly bundle as before (a
day).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from urllib.parse import parse_qs

#: Cache-Control of a versioned address: a year, never revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Cache-Control of a static file asked for without its current version.
REVALIDATE = "no-cache"


class Assets:
    """The versioned addresses of the files under ``static`` and of the Plotly bundle."""

    def __init__(self, static: Path, plotly_version: str):
        self.static = Path(static)
        self.plotly_version = plotly_version
        self._lock = threading.Lock()
        self._digests: dict[str, str | None] = {}

    def digest(self, name: str) -> str | None:
        """The version of ``static/name`` (read once per process), None when there is no such
        file."""
        with self._lock:
            if name not in self._digests:
                path = (self.static / name).resolve()
                inside = path.is_relative_to(self.static.resolve()) and path.is_file()
                self._digests[name] = (hashlib.sha256(path.read_bytes()).hexdigest()[:12]
                                       if inside else None)
            return self._digests[name]

    def url(self, name: str) -> str:
        """The address of ``static/name`` under its current version."""
        digest = self.digest(name)
        if digest is None:
            raise ValueError(f"no static file {name!r}")
        return f"/static/{name}?v={digest}"

    def plotly_url(self) -> str:
        return f"/vendor/plotly-{self.plotly_version}.min.js"

    def static_cache_control(self, path: str, query: str) -> str:
        """Cache-Control of the answer to ``/static/...`` with query string ``query``."""
        name = path.removeprefix("/static/")
        asked = parse_qs(query).get("v", [None])[0]
        current = asked is not None and asked == self.digest(name)
        return IMMUTABLE if current else REVALIDATE

    def install(self, env) -> None:
        """Make ``asset(name)`` and ``plotly_js()`` available to the templates of ``env``."""
        env.globals["asset"] = self.url
        env.globals["plotly_js"] = self.plotly_url


__all__ = ["IMMUTABLE", "REVALIDATE", "Assets"]
