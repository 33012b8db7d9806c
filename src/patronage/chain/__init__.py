"""The service-profit chain: anonymous employee survey results by site or team beside the
customer results of the same units (see :mod:`patronage.chain.report`)."""
