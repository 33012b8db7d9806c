"""The satisfaction service layer: load survey answers from the database or a file, run the
satisfaction methods of :mod:`patronage.analytics` on them (scores, indices, drivers, Kano,
SERVQUAL, PLS, weighting) and hand back frames ready to show. The CLI's ``analyze`` commands and
the dashboard's satisfaction pages use it; :mod:`patronage.loyalty` is its counterpart for
purchase behaviour."""

from patronage.satisfaction.sources import SurveyData, survey_data_from_csv, survey_data_from_db

__all__ = ["SurveyData", "survey_data_from_csv", "survey_data_from_db"]
