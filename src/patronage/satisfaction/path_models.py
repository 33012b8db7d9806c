"""PLS path models that a user describes in a small YAML (or JSON) file.

The index system gives one built-in model (dimensions → satisfaction → loyalty). Any other model —
the ECSI, a corporate-reputation model, a company's own — is written as::

    constructs:                 # latent variable: its indicator columns
      COMP: [comp_1, comp_2, comp_3]
      LIKE: [like_1, like_2, like_3]
      CUSA: [cusa]
      CUSL: [cusl_1, cusl_2, cusl_3]
      QUAL: {indicators: [qual_1, qual_2, qual_3], mode: B}   # formative
    paths:                      # endogenous latent variable: its predecessors
      CUSA: [COMP, LIKE]
      CUSL: [COMP, LIKE, CUSA]
    scheme: path                # path (default), centroid or factorial
    missing: mean               # listwise (default) or mean replacement

Every problem is reported with its place in the file. Aliases (``*name``) are refused, so a few
hundred bytes cannot expand into gigabytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from patronage.analytics import PLSPathModel

MAX_BYTES = 64 * 1024
MISSING = ("listwise", "mean")
SCHEMES = ("path", "centroid", "factorial")


@dataclass(frozen=True)
class PathModelSpec:
    """A user's structural (``inner``) and measurement (``outer``) model."""

    outer: dict[str, list[str]]
    inner: dict[str, list[str]]
    modes: dict[str, str] = field(default_factory=dict)
    scheme: str = "path"
    missing: str = "listwise"

    @property
    def indicators(self) -> list[str]:
        return [column for columns in self.outer.values() for column in columns]


class _NoAliases(yaml.SafeLoader):
    """Safe YAML without aliases (the "billion laughs" expansion needs them)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            mark = self.peek_event().start_mark
            raise ValueError(f"line {mark.line + 1}: YAML aliases (*name) are not allowed here; "
                             "write the values out")
        return super().compose_node(parent, index)


def _names(value, where: str) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str | int) and str(v).strip() for v in value):
        raise ValueError(f"{where}: give a list of names, e.g. [comp_1, comp_2]")
    return [str(v).strip() for v in value]


def parse_path_model(data) -> PathModelSpec:
    """Check a model given as a mapping (see the module docstring)."""
    if not isinstance(data, dict):
        raise ValueError("the model must be a mapping with 'constructs' and 'paths'")
    unknown = sorted(set(data) - {"constructs", "paths", "scheme", "missing"})
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; the keys are constructs, paths, "
                         "scheme and missing")
    constructs = data.get("constructs")
    if not isinstance(constructs, dict) or not constructs:
        raise ValueError("constructs: give each latent variable with its indicator columns")
    outer, modes = {}, {}
    for name, value in constructs.items():
        where = f"constructs.{name}"
        if isinstance(value, dict):
            extra = sorted(set(value) - {"indicators", "mode"})
            if extra:
                raise ValueError(f"{where}: unknown key(s) {', '.join(extra)}; use indicators "
                                 "and mode")
            mode = str(value.get("mode", "A")).upper()
            if mode not in ("A", "B"):
                raise ValueError(f"{where}.mode: use A (reflective) or B (formative), not "
                                 f"{value.get('mode')!r}")
            modes[str(name)] = mode
            value = value.get("indicators")
            where += ".indicators"
        outer[str(name)] = _names(value, where)
    paths = data.get("paths")
    if not isinstance(paths, dict) or not paths:
        raise ValueError("paths: give each endogenous latent variable with its predecessors, "
                         "e.g. CUSA: [COMP, LIKE]")
    inner = {}
    for target, sources in paths.items():
        names = _names(sources, f"paths.{target}")
        for lv in (str(target), *names):
            if lv not in outer:
                raise ValueError(f"paths.{target}: {lv!r} is not among the constructs "
                                 f"({', '.join(outer)})")
        inner[str(target)] = names
    scheme = str(data.get("scheme", "path")).lower()
    if scheme not in SCHEMES:
        raise ValueError(f"scheme: use {', '.join(SCHEMES)}, not {data.get('scheme')!r}")
    missing = str(data.get("missing", "listwise")).lower()
    if missing not in MISSING:
        raise ValueError(f"missing: use listwise or mean, not {data.get('missing')!r}")
    return PathModelSpec(outer=outer, inner=inner, modes=modes, scheme=scheme, missing=missing)


def read_path_model(path: str | Path) -> PathModelSpec:
    """Read and check a model file (YAML or JSON); ValueError names the file and the place."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path.name}: cannot read the model file ({exc.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise ValueError(f"{path.name}: a model file is at most {MAX_BYTES // 1024} KB")
    try:
        data = yaml.load(raw.decode("utf-8-sig"), Loader=_NoAliases)  # noqa: S506 (safe loader)
    except UnicodeDecodeError:
        raise ValueError(f"{path.name}: save the model file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ValueError(f"{path.name}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") \
            from None
    except ValueError as exc:
        raise ValueError(f"{path.name}, {exc}") from None
    try:
        return parse_path_model(data)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None


def fit_path_model(answers: pd.DataFrame, spec: PathModelSpec, *, weights=None, n_boot: int = 200,
                   random_state: int = 0) -> PLSPathModel:
    """Fit ``spec`` on ``answers`` (one column per indicator). With ``missing: mean`` a missing
    answer is replaced by its indicator's mean (as SmartPLS and seminr do by default); otherwise
    incomplete rows are left out."""
    absent = [c for c in spec.indicators if c not in answers.columns]
    if absent:
        raise ValueError(f"the data have no column(s) {', '.join(absent)} named in the model")
    X = answers[spec.indicators]
    if spec.missing == "mean":
        X = X.fillna(X.mean())
    model = PLSPathModel(spec.inner, spec.outer, modes=spec.modes or None, scheme=spec.scheme,
                         n_boot=n_boot, random_state=random_state)
    return model.fit(X, sample_weight=weights)


__all__ = ["PathModelSpec", "fit_path_model", "parse_path_model", "read_path_model"]
