"""Customer care: follow-up rules and the tasks they make, the agents' work lists and call
outcomes, the care calendar (birthdays, anniversaries, festivals) and the greetings it sends,
outreach by e-mail and SMS with opt-out, the contact log, the customer 360 profile, key-account
visit plans and health, lost customers and win-back campaigns measured against a control group.

Every care action lands on the customer's contact log (:mod:`patronage.care.contacts`); tasks are
made by :func:`patronage.care.tasks.create_task`, at most once per source.
"""
