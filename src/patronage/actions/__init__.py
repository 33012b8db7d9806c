"""Action plans: improvement actions made from an analysis or by hand, followed to done, and
their measured effect on the metric they should move.

:mod:`~patronage.actions.records` makes, changes and lists actions (one write transaction each,
every input checked into a translatable :class:`~patronage.messages.UserError`);
:mod:`~patronage.actions.measure` measures an action's metric before and after, for the segment it
targeted against the other customers, and says it in a sentence a manager reads;
:mod:`~patronage.actions.board` puts the board together (open, late, achieved, not achieved);
:mod:`~patronage.actions.reminders` is the worker's job that mails each overdue action's owner
once per due date.
"""
