"""Alembic environment: run by ``patronage db upgrade`` (see ``patronage.storage.migrate``)."""

from alembic import context

from patronage.storage.partitions import comparable
from patronage.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
    include_object=comparable(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
