"""Running analyses for people: load survey or transaction data from the database or a file, call
the pure analytics, and render the result as a table, JSON or CSV (the CLI's ``analyze`` commands
and the dashboard pages use this package)."""

from patronage.analysis.render import render
from patronage.analysis.sources import SurveyData, survey_data_from_csv, survey_data_from_db

__all__ = ["SurveyData", "render", "survey_data_from_csv", "survey_data_from_db"]
