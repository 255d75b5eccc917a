"""The table names every store backend uses (one definition, so the backends cannot drift)."""

from __future__ import annotations

TICKS_TABLE = "ghtrader_ticks_raw_v2"
SYMBOL_DAY_INDEX_TABLE = "ghtrader_symbol_day_index_v2"
NO_DATA_TABLE = "ghtrader_no_data_days_v2"
MAIN_SCHEDULE_TABLE = "ghtrader_main_schedule_v2"
MAIN_L5_PROVENANCE_TABLE = "ghtrader_main_l5_provenance_v2"
BUILD_METADATA_TABLE = "ghtrader_build_metadata_v2"
FEATURE_REGISTRY_TABLE = "ghtrader_feature_registry_v2"
MODEL_REGISTRY_TABLE = "ghtrader_model_registry_v2"
MODEL_STATUS_CHANGES_TABLE = "ghtrader_model_status_changes_v2"
MIGRATIONS_TABLE = "ghtrader_schema_migrations"
HPO_TRIALS_TABLE = "ghtrader_hpo_trials_v2"
