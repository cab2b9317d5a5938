"""Alembic environment: the engine comes from `catalog.store.engine.upgrade`, never from a URL in an ini file."""

from alembic import context
from sqlmodel import SQLModel

import catalog.adoption.models  # noqa: F401  (the adoption tables)
import catalog.alerts.models  # noqa: F401  (the alert tables)
import catalog.scorecards.models  # noqa: F401  (the scorecard tables)
import catalog.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from catalog.search.fulltext import is_modelled

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True, include_object=is_modelled)
    context.run_migrations()
