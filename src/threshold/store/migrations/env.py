"""Alembic environment: runs migrations in the transaction `Store.migrate` hands over (holding its migration lock)."""

from alembic import context

from threshold.capabilities import load_models
from threshold.store.db import VERSION_TABLE
from threshold.store.models import Base
from threshold.store.search_index import engine_owned

load_models()

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    version_table=VERSION_TABLE,
    include_name=lambda name, type_, _parents: not engine_owned(name, type_),
)
context.run_migrations()
