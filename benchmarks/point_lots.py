"""Benchmark: following every lot of points to its fate (``point_lots``, behind the programme
report's breakage) on a ledger of 1M transfers of 50k members, by arrays against the same
ledger replayed transfer by transfer (``point_lots(..., by_transfer=True)``, what the function
did before), with the check that both give the same lots.

The ledger is a programme's two years: earnings in order, redemptions, expiries with their
day, refunds taking points back, and cancelled redemptions giving points back as of the
redemption's day (a lot that jumps the queue: about one member in ten has one and is replayed
transfer by transfer). Wall and CPU time are printed with the load average: on a shared 2-core
machine other work slows every step, so compare runs made under similar load.

Usage: python benchmarks/point_lots.py [--rows 1000000] [--members 50000] [--cancelled 0.002]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from patronage.analytics.programme import point_lots

KINDS = {"earn": ("issue", "points"), "redeem": ("points", "redemption"),
         "expire": ("points", "expiry"), "refund": ("points", "issue"),
         "cancel": ("redemption", "points")}


def ledger(rows: int, members: int, cancelled: float, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    member = np.sort(rng.integers(0, members, rows))
    share = [0.62 - cancelled, 0.2, 0.1, 0.08, cancelled]
    kind = rng.choice(list(KINDS), rows, p=share)
    # Days rise within a member (the ledger's order), a cancellation is earned on an earlier day.
    start = pd.Timestamp("2024-01-01")
    day = np.sort(rng.integers(0, 730, rows))[np.argsort(np.argsort(member, kind="stable"))]
    day = pd.Series(day).groupby(member).cummax().to_numpy()
    earned_day = np.where(kind == "cancel", np.maximum(day - rng.integers(1, 60, rows), 0), day)
    earned = start + pd.to_timedelta(earned_day, "D")
    is_credit = np.isin(kind, ["earn", "cancel"])
    return pd.DataFrame({
        "transfer_id": np.arange(rows), "member_id": member,
        "points": rng.integers(1, 500, rows),
        "debit": [KINDS[k][0] for k in kind], "credit": [KINDS[k][1] for k in kind],
        "occurred_at": start + pd.to_timedelta(day, "D"),
        "earned_on": pd.Series(earned).where(is_credit),
        "expires_on": pd.Series(earned + pd.Timedelta(days=365)).where(
            is_credit | (kind == "expire"))})


def timed(label: str, compute):
    wall, cpu = time.perf_counter(), time.process_time()
    result = compute()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<40} {wall:7.2f} s wall  {cpu:7.2f} s CPU")
    return result, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--cancelled", type=float, default=0.002)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    frame = ledger(args.rows, args.members, args.cancelled)
    fast, took = timed(f"point_lots, {args.rows:,} transfers", lambda: point_lots(frame))
    slow, took_slow = timed("the same, transfer by transfer",
                            lambda: point_lots(frame, by_transfer=True))
    pd.testing.assert_frame_equal(fast, slow)
    print(f"same lots: yes ({len(fast):,} lots); {took_slow / took:.1f} times faster")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
