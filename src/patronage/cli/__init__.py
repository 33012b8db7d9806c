"""The ``patronage`` command: a thin shell over the library.

Each command parses its options, calls one library function and prints the result. One module per
command group; what they share is in :mod:`patronage.cli.common`. Only this module assembles them,
so no group imports another.
"""

from __future__ import annotations

import click

from patronage.cli.common import Root
from patronage.cli import (
    actions, apikeys, care_accounts, care_calendar, care_customers, care_tasks, cases, comments,
    database, exports, imports,
    labels, loyalty, members_analysis, members_cards, members_earning, members_rewards,
    report, satisfaction, serving, standards, surveys, users, work,
)


@click.group(cls=Root)
@click.version_option(package_name="patronage")
def main() -> None:
    """Patronage: customer satisfaction and loyalty management."""


analyze = click.CommandCollection(
    name="analyze",
    sources=[satisfaction.commands, loyalty.commands, cases.analysis_commands,
             care_tasks.analysis_commands, care_accounts.analysis_commands,
             members_analysis.analysis_commands, comments.analysis_commands,
             report.analysis_commands, standards.analysis_commands],
    help="Run a satisfaction or loyalty analysis on the database or on a file.",
)

care = click.Group(
    name="care",
    help="Customer care: follow-up rules and tasks, the care calendar and greetings, the contact "
         "log, key accounts, lost customers and win-back campaigns.",
)
for _module in (care_tasks, care_calendar, care_customers, care_accounts):
    for _command in _module.commands:
        care.add_command(_command)

members = click.Group(
    name="members",
    help="The membership programme: enrolment and cards, earning rules and accrual, the points "
         "ledger, tiers, rewards and redemptions.",
)
for _module in (members_cards, members_earning, members_rewards):
    for _command in _module.commands:
        members.add_command(_command)

for _command in (database.db, exports.export, serving.serve, serving.demo, imports.import_, users.user, analyze,
                 surveys.survey, cases.case, care, members, work.work, apikeys.apikey, labels.labels,
                 report.report, actions.action, standards.standard):
    main.add_command(_command)

__all__ = ["main"]
