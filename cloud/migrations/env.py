"""Alembic environment: the connection is handed in by cloud.migrate."""

from __future__ import annotations

from alembic import context

from cloud.export import models as _export_models  # noqa: F401 - registers its tables
from cloud.institutions import dissolution_models as _dissolution  # noqa: F401 - its tables
from cloud.institutions import migration_models as _migration_models  # noqa: F401 - its tables
from cloud.institutions import models as _institution_models  # noqa: F401 - registers its tables
from cloud.jobs import models as _job_models  # noqa: F401 - registers its table
from cloud.models import Base
from cloud.portal import models as _portal_models  # noqa: F401 - registers its tables

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
