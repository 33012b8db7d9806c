"""Touchpoints and moments of truth: importing the touchpoint log
(:mod:`patronage.journey.importing`) and the journey view, per touchpoint kind
(:mod:`patronage.journey.view`)."""
