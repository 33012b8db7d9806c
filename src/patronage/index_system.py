"""The satisfaction index system: dimensions → indicators → items, each weighted.

The default system ships as ``patronage/data/index_system.json`` and is editable per company: a
company's own file in the same format can be loaded with :func:`load_index_system`.

Item codes name the answers stored for a response:

* ``<item>``: perceived performance, on the item's scale (1–10 by default; NPS 0–10);
* ``<item>.exp``: expectation for the same attribute (when ``expectation`` is true);
* ``<item>.imp``: stated importance;
* ``kano.<attribute>.f`` / ``kano.<attribute>.d``: Kano functional / dysfunctional answers, coded
  1 = like, 2 = must-be, 3 = neutral, 4 = live with, 5 = dislike;
* ``comment``: free text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files
from pathlib import Path

import pandas as pd

EXPECTATION_SUFFIX = ".exp"
IMPORTANCE_SUFFIX = ".imp"
COMMENT_ITEM = "comment"


def kano_items(attribute: str) -> tuple[str, str]:
    """The functional and dysfunctional item codes of a Kano attribute."""
    return f"kano.{attribute}.f", f"kano.{attribute}.d"


@dataclass(frozen=True)
class IndexSystem:
    """A loaded index system.

    ``items`` has one row per item: ``item_code, dimension, indicator, item_weight,
    indicator_weight, dimension_weight, weight`` (the product of the three, normalised to sum to
    1), ``scale_min, scale_max, expectation`` and ``label_en, label_zh_Hans, label_zh_Hant``.
    ``dimensions`` has ``dimension, weight, label_*``; ``kano_attributes`` ``attribute, label_*``.
    """

    name: str
    items: pd.DataFrame
    dimensions: pd.DataFrame
    indicators: pd.DataFrame
    kano_attributes: pd.DataFrame
    nps_item: str

    def label(self, kind: str, code: str, language: str = "en") -> str:
        """The label of a dimension, indicator, item or Kano attribute in ``language``."""
        frame = {"dimension": self.dimensions, "indicator": self.indicators,
                 "item": self.items, "kano": self.kano_attributes}[kind]
        key = {"dimension": "dimension", "indicator": "indicator", "item": "item_code",
               "kano": "attribute"}[kind]
        row = frame.loc[frame[key] == code]
        if row.empty:
            return code
        return str(row.iloc[0].get(f"label_{language}", row.iloc[0]["label_en"]))

    def labels(self, kind: str, language: str = "en") -> dict[str, str]:
        """Every code of ``kind`` with its :meth:`label` in ``language`` (one pass, for pages
        that label many codes)."""
        frame = {"dimension": self.dimensions, "indicator": self.indicators,
                 "item": self.items, "kano": self.kano_attributes}[kind]
        key = {"dimension": "dimension", "indicator": "indicator", "item": "item_code",
               "kano": "attribute"}[kind]
        column = f"label_{language}" if f"label_{language}" in frame.columns else "label_en"
        out: dict[str, str] = {}
        for code, text in zip(frame[key], frame[column]):
            out.setdefault(code, str(text))  # the first row of a code, as label() takes
        return out


def _labels(node: dict) -> dict[str, str]:
    return {f"label_{lang}": text for lang, text in node["label"].items()}


def parse_index_system(data: dict) -> IndexSystem:
    """Build an :class:`IndexSystem` from its JSON form, checking weights and codes."""
    default_scale = data.get("scale", {"min": 1, "max": 10})
    item_rows, dim_rows, ind_rows = [], [], []
    for dim in data["dimensions"]:
        dim_rows.append({"dimension": dim["code"], "weight": float(dim["weight"]), **_labels(dim)})
        for ind in dim["indicators"]:
            ind_rows.append({"indicator": ind["code"], "dimension": dim["code"],
                             "weight": float(ind["weight"]), **_labels(ind)})
            for item in ind["items"]:
                scale = item.get("scale", default_scale)
                item_rows.append({
                    "item_code": item["code"],
                    "dimension": dim["code"],
                    "indicator": ind["code"],
                    "item_weight": float(item["weight"]),
                    "indicator_weight": float(ind["weight"]),
                    "dimension_weight": float(dim["weight"]),
                    "scale_min": float(scale["min"]),
                    "scale_max": float(scale["max"]),
                    "expectation": bool(item.get("expectation", False)),
                    **_labels(item),
                })
    items = pd.DataFrame(item_rows)
    duplicated = items["item_code"][items["item_code"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"index system {data.get('name')!r}: item codes used twice: {duplicated}")
    if (items[["item_weight", "indicator_weight", "dimension_weight"]] < 0).any().any():
        raise ValueError(f"index system {data.get('name')!r}: weights must not be negative")
    raw = items["item_weight"] * items["indicator_weight"] * items["dimension_weight"]
    if raw.sum() <= 0:
        raise ValueError(f"index system {data.get('name')!r}: all weights are zero")
    items["weight"] = raw / raw.sum()
    kano = pd.DataFrame([{"attribute": k["code"], **_labels(k)}
                         for k in data.get("kano_attributes", [])],
                        columns=["attribute", "label_en", "label_zh_Hans", "label_zh_Hant"])
    return IndexSystem(
        name=data.get("name", "custom"),
        items=items,
        dimensions=pd.DataFrame(dim_rows),
        indicators=pd.DataFrame(ind_rows),
        kano_attributes=kano,
        nps_item=data.get("nps_item", "nps"),
    )


def load_index_system(path: str | Path | None = None) -> IndexSystem:
    """Load the index system at ``path``, or the default one shipped with Patronage (parsed
    once; each call gets its own copy of the tables, which callers may change)."""
    if path is None:
        system = _default_system()
        return replace(system, items=system.items.copy(), dimensions=system.dimensions.copy(),
                       indicators=system.indicators.copy(),
                       kano_attributes=system.kano_attributes.copy())
    return parse_index_system(json.loads(Path(path).read_text(encoding="utf-8")))


@cache
def _default_system() -> IndexSystem:
    """The default index system as parsed (every section of a page asks for it: 3 ms each)."""
    text = (files("patronage") / "data" / "index_system.json").read_text(encoding="utf-8")
    return parse_index_system(json.loads(text))


__all__ = [
    "COMMENT_ITEM",
    "EXPECTATION_SUFFIX",
    "IMPORTANCE_SUFFIX",
    "IndexSystem",
    "kano_items",
    "load_index_system",
    "parse_index_system",
]
