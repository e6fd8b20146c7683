"""The dataset setting: a JSON Lines file (dataset.path, read in core.py), a Unity Catalog
table, or an MLflow evaluation dataset (dataset.source: mlflow:<name>)."""

from __future__ import annotations

from .checker import Checker
from .names import is_uc_name

MANAGED = "mlflow:"  # dataset.source and --dataset prefix of an MLflow evaluation dataset


def managed_name(reference: str) -> str | None:
    """The dataset name of `mlflow:<name>`, else None."""
    name = reference.strip().removeprefix(MANAGED).strip()
    return name if reference.strip().startswith(MANAGED) and name else None


def check_dataset_source(c: Checker) -> str | None:
    """dataset.source: the name of an MLflow evaluation dataset; its records are read and
    checked when a run reads them (dataset_store.py)."""
    source = c.text("dataset.source", required=False)
    if not source:
        return None
    if c.get("dataset.path") is not None or c.get("dataset.table") is not None:
        c.problem(
            "dataset",
            "set one of dataset.path, dataset.table and dataset.source, not two",
        )
    name = managed_name(source)
    if name is None:
        c.problem(
            "dataset.source",
            f"{source!r} is not mlflow:<dataset name>",
            "e.g. mlflow:eval_dataset (the datasets journey's datasets.name)",
            source,
        )
    return name


def check_dataset_table(c: Checker, target: str, uc_warehouse: str) -> tuple[str | None, str]:
    """dataset.table and the warehouse that reads it; its rows are checked when they are read."""
    table = c.text("dataset.table", required=False)
    if not table:
        return None, ""
    if c.get("dataset.path") is not None:
        c.problem(
            "dataset",
            "set one of dataset.path (a JSONL file) and dataset.table (catalog.schema.table), "
            "not both",
        )
    if target != "databricks":
        c.problem(
            "dataset.table",
            f"{table!r} is a Unity Catalog table, read through a Databricks SQL warehouse",
            "set target: databricks, or use dataset.path",
            table,
        )
    if not is_uc_name(table):
        c.problem(
            "dataset.table",
            f"{table!r} is not catalog.schema.table",
            "use three names of letters, digits and underscores",
            table,
        )
    warehouse = c.warehouse_id("dataset.sql_warehouse_id", uc_warehouse)
    if not warehouse:
        c.problem(
            "dataset.sql_warehouse_id",
            "is empty",
            "a table is read through a SQL warehouse: set dataset.sql_warehouse_id or "
            "unity_catalog.sql_warehouse_id",
        )
    return table, warehouse
