"""The content of pages computed in the background, rendered once per visitor and kept.

A repeat visit to the Overview, the Analysis or the Loyalty page with unchanged data gets the
same computed results from the page cache, and rendering their tables and charts into HTML
took most of the server's time (0.1-0.3 s for the Analysis page's 17 sections). The rendered
``head`` and ``content`` blocks are kept, keyed by the computed results (their identity: a new
data version computes new ones), the template, the address, the language and the visitor's
session (the blocks hold the session's CSRF token and what the role may do). The rest of the
page (the menu with the visitor's open cases and care tasks, the notice) is rendered on every
visit. At most :data:`KEPT` pages are kept, the least recently used leaving first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from typing import Any

#: How many rendered pages are kept.
KEPT = 64
#: The blocks kept (those of base.html that the dashboard pages fill).
BLOCKS = ("head", "content")


class KeptPages:
    """Rendered blocks by key (thread-safe, bounded)."""

    def __init__(self, size: int = KEPT):
        self.size = size
        self._lock = threading.Lock()
        self._blocks: OrderedDict[Hashable, tuple[tuple, dict[str, str]]] = OrderedDict()
        self.hits = 0

    def render(self, template, context: dict, results: Iterable[Any], key: Hashable) -> str:
        """``template`` (a Jinja template extending base.html) rendered with ``context``, its
        kept blocks taken from memory when ``results`` (the computed values shown) and ``key``
        are those they were rendered with."""
        held = tuple(results)
        full_key = (template.name, tuple(id(r) for r in held), key)
        with self._lock:
            found = self._blocks.get(full_key)
            if found is not None:
                self._blocks.move_to_end(full_key)
                self.hits += 1
        page = template.new_context(context)
        if found is not None:
            for name, html in found[1].items():
                page.blocks[name] = [lambda _context, html=html: iter((html,))]
            return "".join(template.root_render_func(page))
        rendered: dict[str, str] = {}
        page.blocks = _Capturing(page.blocks, rendered)
        html = "".join(template.root_render_func(page))
        with self._lock:  # the results are held so that their ids are not reused
            self._blocks[full_key] = (held, rendered)
            self._blocks.move_to_end(full_key)
            while len(self._blocks) > self.size:
                self._blocks.popitem(last=False)
        return html


class _Capturing(dict):
    """A Jinja context's blocks (those of the template and, once its root renders, of the
    templates it extends) whose kept blocks write what they render to ``into`` as well."""

    def __init__(self, blocks: dict, into: dict[str, str]):
        super().__init__(blocks)
        self._into = into

    def __getitem__(self, name):
        found = super().__getitem__(name)
        if name not in BLOCKS or not found:
            return found

        def capture(context, block=found[0]):
            parts = list(block(context))
            self._into[name] = "".join(parts)
            return iter(parts)

        return [capture, *found[1:]]


__all__ = ["KEPT", "KeptPages"]
