"""Service standards: measurable promises on a touchpoint metric or the case desk, with a target
share and a period (:mod:`~patronage.standards.records`); their compliance per site, team,
agent and period with control charts and run rules, and how the customers served within the
standard rate the touchpoint against those served outside it
(:mod:`~patronage.standards.compliance`); and the worker's alert of a breach to the standard's
owner, once per period and unit (:mod:`~patronage.standards.alerts`)."""
