"""Alembic environment: runs migrations on the engine handed over by `Store.migrate`."""

from alembic import context

from threshold.capabilities import load_models
from threshold.store.models import Base
from threshold.store.search_index import engine_owned

load_models()

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table="threshold_alembic_version",
        include_name=lambda name, type_, _parents: not engine_owned(name, type_),
    )
    context.run_migrations()
