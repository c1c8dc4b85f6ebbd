"""The ORM classes (`imgqa.store.models`, named ``…Row`` since issue 9) describe exactly the
schema the Alembic migrations build: renaming a class must never need a migration.

This is ``alembic check`` as a test: autogenerate's comparison of the models' metadata with a
database upgraded to head finds nothing to do, on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from imgqa.store import models as m
from imgqa.store import open_store


def _mapped_classes() -> list[type]:
    return [mapper.class_ for mapper in m.Base.registry.mappers]


def test_models_need_no_migration(store_url):
    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, m.Base.metadata)
            tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        store.close()
    assert diff == []
    # every table the migrations made is mapped, by exactly one class
    mapped = [c.__tablename__ for c in _mapped_classes()]  # type: ignore[attr-defined]
    assert sorted(mapped) == sorted(tables)


def test_orm_classes_are_named_row():
    """ORM classes end in ``Row``, so they are never confused with the domain classes
    (`imgqa.evaluate.Tolerance`, `imgqa.store.records.EquipmentRecord`, ...)."""
    names = [c.__name__ for c in _mapped_classes()]
    assert names and all(n.endswith("Row") for n in names), names
    assert set(names) <= set(m.__all__)
