"""Can a care message reach a customer: consent, opt-out and a phone number or an e-mail address
on the channel asked for. Pure functions of a customer row, shared by :mod:`patronage.care.outreach`
(which sends) and :mod:`patronage.care.calendar` (which counts whom an occasion would reach).
"""

from __future__ import annotations

from collections.abc import Mapping

from patronage.storage.schema_care import MESSAGE_CHANNELS

#: Why a message was not sent (:func:`why_not`).
REASONS = ("no_consent", "opted_out", "no_phone", "no_email", "unknown_customer")


def opted_out(customer: Mapping) -> bool:
    """Has the customer opted out of care messages (or withdrawn care consent)?"""
    preferences = customer.get("preferences") or {}
    return (not customer.get("consent_care", True)
            or bool(isinstance(preferences, Mapping) and preferences.get("opted_out")))


def why_not(customer: Mapping | None, channel: str) -> str | None:
    """Why a message on ``channel`` cannot go to ``customer`` (one of :data:`REASONS`), or None
    when it can."""
    if customer is None:
        return "unknown_customer"
    preferences = customer.get("preferences") or {}
    if isinstance(preferences, Mapping) and preferences.get("opted_out"):
        return "opted_out"
    if not customer.get("consent_care", True):
        return "no_consent"
    if channel == "sms" and not (customer.get("phone") or "").strip():
        return "no_phone"
    if channel == "email" and "@" not in (customer.get("email") or ""):
        return "no_email"
    return None


def reachable_channel(customer: Mapping, preferred: str | None) -> str | None:
    """``preferred`` (sms or email; None: the customer's preferred channel, else sms) when the
    customer can be reached on it, else the other one, else None."""
    preferences = customer.get("preferences") or {}
    if preferred not in MESSAGE_CHANNELS:
        own = preferences.get("channel") if isinstance(preferences, Mapping) else None
        preferred = own if own in MESSAGE_CHANNELS else "sms"
    other = "email" if preferred == "sms" else "sms"
    for channel in (preferred, other):
        if why_not(customer, channel) is None:
            return channel
    return None


__all__ = ["REASONS", "opted_out", "reachable_channel", "why_not"]
