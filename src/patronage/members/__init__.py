"""The membership programme: members and their cards, earning rules and the accrual job, the
double-entry points ledger with expiry, tiers (VIP cards) with their privileges and reviews, the
rewards catalogue and redemptions, and the analyses that say whether the programme builds
loyalty or only rewards purchases that would have happened anyway.

Points move only through :mod:`patronage.members.ledger`; the programme's policy (tier basis
and window, grace period, expiry, the cost of a point) is read by
:func:`patronage.members.programme.load_policy`.
"""
