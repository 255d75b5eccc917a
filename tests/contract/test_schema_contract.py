"""SchemaManager contract: ensure_schema creates every table once and is a no-op afterwards."""

from __future__ import annotations

from ghtrader.application.ports.stores import SchemaManager, StoreBundle

CORE_TABLES = {"ghtrader_ticks_raw_v2", "ghtrader_symbol_day_index_v2", "ghtrader_no_data_days_v2"}
LATER_TABLES = {
    "ghtrader_main_schedule_v2",
    "ghtrader_main_l5_provenance_v2",
    "ghtrader_build_metadata_v2",
    "ghtrader_feature_registry_v2",
    "ghtrader_model_registry_v2",
    "ghtrader_model_status_changes_v2",
}


def test_first_ensure_schema_applies_then_second_is_a_no_op(fresh_schema: SchemaManager) -> None:
    assert not CORE_TABLES & set(fresh_schema.table_names())
    applied = fresh_schema.ensure_schema()
    assert applied, "a fresh namespace must get its tables"
    assert len(set(applied)) == len(applied)
    assert (CORE_TABLES | LATER_TABLES) <= set(fresh_schema.table_names())
    assert fresh_schema.ensure_schema() == []
    assert fresh_schema.table_names() == sorted(fresh_schema.table_names())


def test_open_stores_are_ensured(stores: StoreBundle) -> None:
    assert stores.schema.ensure_schema() == []
    assert (CORE_TABLES | LATER_TABLES) <= set(stores.schema.table_names())
