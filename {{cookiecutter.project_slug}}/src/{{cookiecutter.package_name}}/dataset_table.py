"""The evaluation dataset read from a Unity Catalog table (dataset.table in evaluation.yaml).

Read through a SQL warehouse with the Statement Execution API (databricks-sdk), so it works the
same from a laptop, CI and a bundle job on Databricks compute. The table holds one record per
row: `inputs` (a JSON object, as text, STRUCT or MAP), optional `expectations` and `outputs`
likewise, and an optional `id` (or `dataset_record_id`, as in MLflow-managed evaluation dataset
tables). Other columns are ignored. Rows are checked by the same rules as the JSONL file.
"""

from __future__ import annotations

import json
import time

from .config import is_uc_name
from .credentials import WORKSPACE_FIX
from .dataset import DatasetError, Record, check_records

JSON_COLUMNS = ("inputs", "expectations", "outputs")
ID_COLUMNS = ("id", "dataset_record_id")  # the first present wins
WAIT_TIMEOUT = "30s"  # the longest the API lets one call wait; then we poll
MAX_WAIT_SECONDS = 600.0


def quoted_table(table: str) -> str:
    """catalog.schema.table with each part validated and quoted, or DatasetError."""
    if not is_uc_name(table):
        raise DatasetError(
            f"dataset.table: {table!r} is not catalog.schema.table (letters, digits and '_')"
        )
    return ".".join(f"`{p}`" for p in table.split("."))


def read_table(
    table: str, warehouse_id: str, client=None, poll_seconds: float = 1.0
) -> list[Record]:
    """Every row of `table` as a checked Record; DatasetError names the table and the fix."""
    from databricks.sdk import WorkspaceClient

    statement = f"SELECT * FROM {quoted_table(table)}"
    try:
        client = client or WorkspaceClient()
    except ValueError as err:  # the SDK's "cannot configure default credentials"
        raise DatasetError(
            f"dataset.table {table}: no Databricks workspace to read it from "
            f"({str(err).split(',')[0]}); "
            f"{WORKSPACE_FIX}; or use dataset.path"
        ) from err
    api = client.statement_execution
    response = run_statement(api, statement, table, warehouse_id, poll_seconds)
    columns, values = result_rows(api, response, table)
    return records_from_rows(table, columns, values)


def run_statement(api, statement: str, table: str, warehouse_id: str, poll_seconds: float):
    """The statement's response once it succeeded, polled up to MAX_WAIT_SECONDS (then
    cancelled); DatasetError when the warehouse refuses it or it fails."""
    from databricks.sdk.errors import DatabricksError
    from databricks.sdk.service.sql import (
        Disposition,
        ExecuteStatementRequestOnWaitTimeout,
        Format,
        StatementState,
    )

    try:
        response = api.execute_statement(
            statement=statement,
            warehouse_id=warehouse_id,
            disposition=Disposition.INLINE,  # at most 25 MiB of rows, plenty for an evaluation set
            format=Format.JSON_ARRAY,
            wait_timeout=WAIT_TIMEOUT,
            on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CONTINUE,
        )
    except DatabricksError as err:
        raise DatasetError(
            f"dataset.table {table}: the SQL warehouse {warehouse_id} refused the query ({err}); "
            "check dataset.sql_warehouse_id and your access to it"
        ) from err
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while response.status.state in (StatementState.PENDING, StatementState.RUNNING):
        if time.monotonic() > deadline:
            api.cancel_execution(response.statement_id)
            raise DatasetError(
                f"dataset.table {table}: no result after {MAX_WAIT_SECONDS:.0f} s "
                f"on warehouse {warehouse_id}; check that the warehouse is running"
            )
        time.sleep(poll_seconds)
        response = api.get_statement(response.statement_id)
    if response.status.state != StatementState.SUCCEEDED:
        error = response.status.error
        detail = error.message if error and error.message else response.status.state.value
        raise DatasetError(
            f"dataset.table {table}: reading it failed ({detail}); "
            "check the name, SELECT permission and dataset.sql_warehouse_id"
        )
    return response


def result_rows(api, response, table: str) -> tuple[list[str], list[list]]:
    """(column names in lower case, every row's values), paging through the result's chunks;
    DatasetError when the table has no `inputs` column."""
    columns = [c.name.lower() for c in response.manifest.schema.columns]
    if "inputs" not in columns:
        raise DatasetError(
            f"dataset.table {table}: has no 'inputs' column (columns: {', '.join(columns)}); "
            "each row needs inputs as a JSON object"
        )
    values = list((response.result and response.result.data_array) or [])
    chunk = response.result.next_chunk_index if response.result else None
    while chunk is not None:  # results larger than one chunk come in pages
        page = api.get_statement_result_chunk_n(response.statement_id, chunk)
        values.extend(page.data_array or [])
        chunk = page.next_chunk_index
    return columns, values


def records_from_rows(table: str, columns: list[str], values: list[list]) -> list[Record]:
    id_column = next((c for c in ID_COLUMNS if c in columns), None)
    rows, problems = [], []
    for number, cells in enumerate(values, start=1):
        where = f"dataset.table {table} row {number}"
        cell = dict(zip(columns, cells, strict=False))  # rows come from the warehouse as is
        row, unreadable = {}, False
        for column in JSON_COLUMNS:
            text = cell.get(column)
            if text is None:
                continue
            try:  # JSON_ARRAY results carry every value as text, STRUCT and MAP as JSON
                row[column] = json.loads(text) if isinstance(text, str) else text
            except json.JSONDecodeError:
                problems.append(
                    f"{where}: column {column} is not JSON ({text[:40]!r}); store a JSON object"
                )
                unreadable = True
        if id_column and cell.get(id_column) is not None:
            row["id"] = cell[id_column]
        if not unreadable:
            rows.append((number, where, row))
    return check_records(rows, problems)
