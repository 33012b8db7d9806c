"""Reporting: what the dashboard and the JSON API show, computed from the panel."""

from patronage.reporting.customers import customer_list, customer_profile
from patronage.reporting.overview import Overview, overview

__all__ = ["Overview", "customer_list", "customer_profile", "overview"]
