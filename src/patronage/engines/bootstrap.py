"""The Poisson bootstrap's replicate moments in SQL (issue 16): every engine (SQLite,
PostgreSQL, DuckDB, Spark) sums, in one pass over the complete responses crossed with the
replicate numbers 1..B and grouped by replicate, each replicate's count, weight total and
weighted sums about the full sample's means, each response weighted by its weight times its
Poisson(1) count drawn by the integer hash of
:mod:`patronage.analytics.poisson_bootstrap` (the same counts numpy draws). Only B rows of
``p (p + 3) / 2 + 2`` sums leave the engine.
"""

from __future__ import annotations

from patronage.analytics.moments import Moments
from patronage.analytics.poisson_bootstrap import (
    CUBE_CONSTANTS,
    MAX_REPLICATES,
    MODULUS,
    MULTIPLIERS,
    REPLICATE_MULTIPLIER,
    SECOND_MODULUS,
    poisson_thresholds,
    replicate_moments_from_sums,
    seed_offsets,
)
from patronage.messages import N_, UserError

__all__ = ["poisson_count_sql", "replicate_moments"]


def _int(value: int) -> str:
    return f"CAST({int(value)} AS BIGINT)"


def _cube(h: str, constant: int) -> str:
    p = _int(MODULUS)
    return f"(((({h}) * ({h})) % {p}) * ({h}) + {_int(constant)}) % {p}"


def poisson_count_sql(source: str, carried: list[str], seed: int, fence: str = "") -> str:
    """The ``carried`` columns of the rows of ``source`` (which has an integer ``id`` and the
    replicate number ``b``) with each row's Poisson(1) count ``k``: one nested select per
    round of the hash, so that no round's expression is written more than three times.
    ``fence`` (the engine's, e.g. ``OFFSET 0``) ends each nested select so that the planner
    does not substitute a round's expression into the next (SQLite and PostgreSQL would
    evaluate the hash once per reference, thousands of times per row)."""
    first, third = seed_offsets(seed)
    a1, a2, a3 = MULTIPLIERS
    c1, c2, c3 = CUBE_CONSTANTS
    p, q = _int(MODULUS), _int(SECOND_MODULUS)
    keep = ", ".join(carried)
    b = "CAST(b AS BIGINT)"
    start = f"((CAST(id AS BIGINT) % {p}) + {p}) % {p}"
    query = (f"SELECT {keep}, b, ((CAST(id AS BIGINT) % {q}) + {q}) % {q} AS q, "
             + _cube(f"({start} * {_int(a1)} + {b} * {_int(REPLICATE_MULTIPLIER)} + "
                     f"{_int(first)}) % {p}", c1) + f" AS h FROM ({source}) s")
    for step in (_cube(f"(h * {_int(a2)} + q + {b}) % {p}", c2),
                 _cube(f"(h * {_int(a3)} + {_int(third)}) % {p}", c3)):
        query = f"SELECT {keep}, b, q, {step} AS h FROM ({query}{fence}) s"
    thresholds = poisson_thresholds()
    cases = " ".join(f"WHEN h < {_int(t)} THEN {j}" for j, t in enumerate(thresholds))
    return (f"SELECT {keep}, b, CASE {cases} ELSE {len(thresholds)} END AS k "
            f"FROM ({query}{fence}) s")


def _replicate_numbers(engine, n_boot: int) -> None:
    """The temp table ``replicates`` of the numbers 1..``n_boot`` (from a cross join of
    digits: no dialect has the same series function)."""
    if n_boot > MAX_REPLICATES:
        raise UserError(N_("At most {limit} bootstrap resamples on an engine: use fewer with "
                           "--bootstrap N."),
                        limit=MAX_REPLICATES)
    digits = " UNION ALL ".join(f"SELECT {d} AS d" for d in range(10))
    places = max(1, len(str(n_boot - 1)))
    tables = " CROSS JOIN ".join(f"({digits}) d{i}" for i in range(places))
    number = " + ".join(f"{10 ** i} * d{i}.d" for i in range(places))
    engine.materialise("replicates", f"SELECT b FROM (SELECT {number} + 1 AS b FROM {tables}) t "
                                     f"WHERE b <= {int(n_boot)}")


def replicate_moments(engine, rows: str, columns: list[str], full: Moments, n_boot: int,
                      seed: int = 0) -> list[Moments]:
    """The moments of ``n_boot`` Poisson-bootstrap replicates of the complete rows ``rows``
    (a query of ``id``, weight ``w`` and the values ``v0 .. v{p-1}`` of ``columns``) whose
    moments are ``full``: the sums about the full sample's means, computed by the engine in
    one grouped pass, and turned into moments by
    :func:`patronage.analytics.poisson_bootstrap.replicate_moments_from_sums`."""
    _replicate_numbers(engine, n_boot)
    p = len(columns)
    d = [f"d{j}" for j in range(p)]
    centred = ", ".join(f"r.v{j} - {engine.number(float(m))} AS d{j}"
                        for j, m in enumerate(full.mean))
    drawn = poisson_count_sql(f"SELECT r.id, r.w, {centred}, t.b FROM ({rows}) r "
                              "CROSS JOIN replicates t", ["w", *d], seed, engine.fence)
    sums = [f"SUM(wk * {x})" for x in d]
    sums += [f"SUM(wk * {d[i]} * {d[j]})" for i in range(p) for j in range(i, p)]
    found = {int(row[0]): row[1:] for row in engine.rows(
        f"SELECT b, COUNT(*), SUM(wk), {', '.join(sums)} FROM (SELECT b, w * k AS wk, "
        f"{', '.join(d)} FROM ({drawn}{engine.fence}) x WHERE k > 0{engine.fence}) y "
        "GROUP BY b")}
    empty = (0, 0.0, *([None] * (len(sums))))
    ordered = [found.get(b, empty) for b in range(1, n_boot + 1)]
    return replicate_moments_from_sums(columns, full, full.mean, ordered)
