"""Surveys: questionnaire definitions, templates and respondents' submissions."""

from patronage.surveys.answers import (
    MESSAGES,
    condition_met,
    error_key,
    pages,
    progress,
    validate_submission,
    visible_items,
)
from patronage.surveys.definition import (
    DefinitionError,
    Item,
    Option,
    Questionnaire,
    Section,
    next_version,
    parse_definition,
)
from patronage.surveys.templates import (
    list_templates,
    load_template,
    relationship_from_index_system,
)

__all__ = [
    "DefinitionError",
    "Item",
    "MESSAGES",
    "Option",
    "Questionnaire",
    "Section",
    "condition_met",
    "error_key",
    "list_templates",
    "load_template",
    "next_version",
    "pages",
    "parse_definition",
    "progress",
    "relationship_from_index_system",
    "validate_submission",
    "visible_items",
]
