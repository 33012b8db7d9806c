"""English words left in the visible text of a Chinese page (a test helper).

A word is a run of three or more ASCII letters standing alone: codes such as ``t-nps``,
``kano.app.d`` or ``a@example.com`` are not words (their letters touch ``-``, ``.``, ``_``,
``@``, ``/`` or digits). Brand names and method abbreviations are allowed.
"""

from __future__ import annotations

import json
import re

from bs4 import BeautifulSoup
from bs4.element import Comment, Doctype

ALLOWED = frozenset({
    "NPS", "CSI", "CSV", "ID", "CSAT", "CES", "ACSI", "ECSI", "SERVQUAL", "Kano", "AVE", "HTMT",
    "PLS", "Patronage", "JSON", "YAML", "QR", "Cronbach", "Holm", "Welch", "Cramér", "Better",
    "Worse", "Kish", "XLSX", "URL", "SMTP", "English", "Bot", "RFM", "CLV", "BG", "NBD",
    "Gamma", "HTML", "API", "SQLite", "PostgreSQL", "Excel", "ANOVA", "Wilcoxon", "raking",
    "AAPOR", "UUID", "UTC", "Neyman", "Jones", "Sasser", "MAE", "CRM", "PDF",
})
WORD = re.compile(r"(?<![\w.\-/@:#'\"])[A-Za-z][A-Za-z']{2,}(?![\w.\-/@:#(\"\[])")


def visible_text(html: str) -> list[str]:
    """The page's text nodes and the titles, labels and texts of its charts."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "textarea", "code", "pre"]):
        tag.decompose()
    texts = [t.strip() for t in soup.find_all(string=True)
             if t.strip() and not isinstance(t, (Comment, Doctype))]
    texts += [e.get(a) for a in ("placeholder", "title", "aria-label", "alt")
              for e in soup.find_all(attrs={a: True})]
    for chart in soup.select("[data-figure]"):
        texts += list(_chart_texts(json.loads(chart["data-figure"])))
    return texts


def _chart_texts(figure: dict):
    layout = figure.get("layout", {})
    for part in (layout, layout.get("xaxis", {}), layout.get("yaxis", {})):
        title = part.get("title")
        if isinstance(title, dict):
            title = title.get("text")
        if title:
            yield str(title)
    for trace in figure.get("data", []):
        for key in ("name", "x", "y", "text", "labels"):
            value = trace.get(key)
            values = value if isinstance(value, list) else [value]
            yield from (v for v in values if isinstance(v, str))
    for note in layout.get("annotations", []):
        if note.get("text"):
            yield str(note["text"])


def english_words(html: str, allowed=()) -> list[str]:
    """Words of the page not in Chinese (nor allowed), each with the text it was found in."""
    ok = ALLOWED | set(allowed)
    found = []
    for text in visible_text(html):
        text = re.sub(r"<[^>]+>", " ", text)
        words = [word.strip("'") for word in WORD.findall(text)]
        found += [f"{word!r} in {text[:80]!r}" for word in words
                  if len(word) >= 3 and word not in ok]
    return found
