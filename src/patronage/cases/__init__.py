"""The case desk: complaints, detractors and alerts become owned cases with service levels.

Business time for the service levels (working hours, China's public holidays and adjusted working
days, the company's own days) is in :mod:`patronage.cases.calendar`.
"""
