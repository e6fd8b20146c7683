"""TEST DOUBLE of the Databricks workspace REST endpoints this project touches, on loopback.

Only for tests: no Databricks workspace is reachable from them, ever. It keeps just enough state
(experiments and their tags, SQL warehouses, trace locations, scheduled scorers, effective UC
grants, tables read by SQL statements, Unity Catalog tables and the managed evaluation datasets
they back) for the real MLflow, databricks-sdk and databricks-agents clients to run `tracing
setup`, `tracing grants --check`, `monitoring ...`, the dataset.table reader and the dataset
commands against it, and records every request so tests can assert what was sent. An endpoint
it does not know answers 501 and is listed in `unhandled`.

Point a process at it with DATABRICKS_HOST=double.host and any DATABRICKS_TOKEN.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

from loopback import LoopbackServer

STATUS = {
    "RESOURCE_DOES_NOT_EXIST": 404,
    "NOT_FOUND": 404,
    "TABLE_DOES_NOT_EXIST": 404,
    "INTERNAL_ERROR": 500,
    "ALREADY_EXISTS": 409,
    "RESOURCE_ALREADY_EXISTS": 409,
    "INVALID_PARAMETER_VALUE": 400,
    "NOT_IMPLEMENTED": 501,
}
DESTINATION_TAG = "mlflow.experiment.databricksTraceDestinationPath"
TABLE_TAGS = {
    "spans_table_name": "mlflow.experiment.databricksTraceSpanStorageTable",
    "logs_table_name": "mlflow.experiment.databricksTraceLogStorageTable",
    "annotations_table_name": "mlflow.experiment.databricksTraceAnnotationsTable",
}
SELECT_TABLE = re.compile(r"^SELECT \* FROM `(\w+)`\.`(\w+)`\.`(\w+)`$")


def workspace_env(double, home) -> dict[str, str]:
    """A process environment that can only reach the test double (no profile in `home`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "MLFLOW_"))}
    env.update(
        DATABRICKS_HOST=double.host,
        DATABRICKS_TOKEN="dapi-test-double",
        HOME=str(home),
        MLFLOW_DISABLE_TELEMETRY="true",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
    )
    return env


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class DatabricksTestDouble(LoopbackServer):
    def __init__(self, warehouses: dict[str, str] | None = None):
        super().__init__()
        self.warehouses = dict(warehouses or {})  # id -> state, e.g. "RUNNING"
        self.experiments: dict[str, dict] = {}  # id -> {"name", "tags"}
        self.schema_locations: set[tuple[str, str]] = set()
        self.prefix_locations: set[tuple[str, str, str]] = set()
        self.scheduled_scorers: dict[str, list[dict]] = {}  # experiment id -> scorer configs
        self.grants: dict[
            tuple[str, str], set[str]
        ] = {}  # (securable full name, principal) -> privileges
        # catalog.schema.table -> (column names, rows of JSON_ARRAY values: text or None)
        self.tables: dict[str, tuple[list[str], list[list]]] = {}
        self.statements: dict[str, dict] = {}
        self.uc_tables: dict[str, str] = {}  # catalog.schema.table -> table id
        # dataset id -> {"name", "experiment_ids", "records": [REST records], "versions": [ops]}
        self.datasets: dict[str, dict] = {}
        self.records_page_size = 3  # small, so readers must page
        self.failing_record_writes = 0  # this many records:batchCreate calls answer 500
        self.rows_per_chunk = 2  # small, so readers must page
        self.pending_polls = 1  # a statement answers PENDING this often before it is done
        self.requests: list[dict] = []
        self.unhandled: list[str] = []

    def respond(self, request: dict):
        with self._lock:
            self.requests.append(request)
            try:
                return self.route(
                    request["method"], request["path"], request["query"], request["body"]
                )
            except ApiError as err:
                if err.code == "NOT_IMPLEMENTED":
                    self.unhandled.append(f"{request['method']} {request['path']}")
                return STATUS.get(err.code, 400), {"error_code": err.code, "message": err.message}

    # -- what tests read -------------------------------------------------------------------
    def calls(self, method: str, path_prefix: str) -> list[dict]:
        return [
            r for r in self.requests if r["method"] == method and r["path"].startswith(path_prefix)
        ]

    def writes(self) -> list[dict]:
        """Requests that change state (everything but reads)."""
        return [r for r in self.requests if r["method"] in ("POST", "PATCH", "PUT", "DELETE")]

    def experiment_named(self, name: str) -> tuple[str, dict]:
        return next((i, e) for i, e in self.experiments.items() if e["name"] == name)

    # -- emulation -------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict, body: dict) -> dict | None:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if path == "/.well-known/databricks-config":
            return {}  # host metadata: nothing to add to the explicit host and token
        if path.startswith("/api/2.0/mlflow/experiments/"):
            return self.experiments_api(method, parts[-1], query, body)
        if parts[:4] == ["api", "2.0", "sql", "warehouses"] and len(parts) == 5 and method == "GET":
            state = self.warehouses.get(parts[4])
            if state is None:
                raise ApiError(
                    "RESOURCE_DOES_NOT_EXIST", f"SQL warehouse {parts[4]} does not exist"
                )
            return {"id": parts[4], "name": "test double warehouse", "state": state}
        if (
            parts[:4] == ["api", "2.0", "sql", "warehouses"]
            and parts[-1] == "start"
            and method == "POST"
        ):
            if parts[4] not in self.warehouses:
                raise ApiError(
                    "RESOURCE_DOES_NOT_EXIST", f"SQL warehouse {parts[4]} does not exist"
                )
            self.warehouses[parts[4]] = "RUNNING"  # starts at once; the SDK then polls GET
            return {}
        if path == "/api/4.0/mlflow/traces/location" and method == "POST":
            return self.create_schema_location(body)
        if parts[:4] == ["api", "4.0", "mlflow", "traces"] and parts[-1] == "link-location":
            return self.link_schema_location(parts[4], body)
        if path == "/api/5.0/mlflow/tracing/locations" and method == "POST":
            return self.create_prefix_location(body)
        if (
            parts[:4] == ["api", "5.0", "mlflow", "experiments"]
            and parts[-1] == "trace-location:link"
        ):
            return self.link_prefix_location(parts[4], body)
        if path == "/api/2.0/otel/v1/traces" and method == "POST":
            return None  # OTLP spans, written to the table named in X-Databricks-UC-Table-Name
        if (
            parts[:4] == ["api", "4.0", "mlflow", "traces"]
            and parts[-1] == "info"
            and method == "POST"
        ):
            return body  # the trace info, stored as sent
        if parts[:4] == ["api", "2.0", "managed-evals", "scheduled-scorers"]:
            return self.scheduled_scorers_api(method, parts[4], body)
        if path.rstrip("/") == "/api/2.0/sql/statements" and method == "POST":
            return self.execute_statement(body)
        if parts[:4] == ["api", "2.0", "sql", "statements"] and len(parts) == 5 and method == "GET":
            return self.statement_response(parts[4])
        if parts[:4] == ["api", "2.0", "sql", "statements"] and parts[5:7] == ["result", "chunks"]:
            return self.result_chunk(parts[4], int(parts[7]))
        if parts[:4] == ["api", "2.1", "unity-catalog", "effective-permissions"]:
            return self.effective_permissions(parts[5], query.get("principal"))
        if parts[:4] == ["api", "2.1", "unity-catalog", "tables"] and method == "GET":
            return self.uc_table(parts[4])
        if parts[:4] == ["api", "2.0", "managed-evals", "datasets"]:
            return self.datasets_api(method, parts[4:], query, body)
        raise ApiError("NOT_IMPLEMENTED", f"the test double does not emulate {method} {path}")

    def experiment(self, experiment_id: str) -> dict:
        if experiment_id not in self.experiments:
            raise ApiError("RESOURCE_DOES_NOT_EXIST", f"No experiment with id {experiment_id}")
        return self.experiments[experiment_id]

    def experiment_json(self, experiment_id: str) -> dict:
        found = self.experiment(experiment_id)
        return {
            "experiment_id": experiment_id,
            "name": found["name"],
            "artifact_location": f"dbfs:/databricks/mlflow-tracking/{experiment_id}",
            "lifecycle_stage": "active",
            "tags": [{"key": k, "value": v} for k, v in found["tags"].items()],
        }

    def experiments_api(self, method: str, action: str, query: dict, body: dict) -> dict:
        if action == "get-by-name":
            for experiment_id, found in self.experiments.items():
                if found["name"] == query.get("experiment_name"):
                    return {"experiment": self.experiment_json(experiment_id)}
            raise ApiError(
                "RESOURCE_DOES_NOT_EXIST", f"No experiment named {query.get('experiment_name')}"
            )
        if action == "get":
            return {"experiment": self.experiment_json(query.get("experiment_id", ""))}
        if action == "create" and method == "POST":
            if any(e["name"] == body["name"] for e in self.experiments.values()):
                raise ApiError(
                    "RESOURCE_ALREADY_EXISTS", f"Experiment {body['name']} already exists"
                )
            experiment_id = str(1000 + len(self.experiments))
            tags = {t["key"]: t["value"] for t in body.get("tags", [])}
            self.experiments[experiment_id] = {"name": body["name"], "tags": tags}
            return {"experiment_id": experiment_id}
        if action == "set-experiment-tag" and method == "POST":
            self.experiment(body["experiment_id"])["tags"][body["key"]] = body["value"]
            return {}
        raise ApiError("NOT_IMPLEMENTED", f"the test double does not emulate experiments/{action}")

    def create_schema_location(self, body: dict) -> dict:
        """The schema-linked form: fixed table names in catalog.schema."""
        location = body["uc_schema"]
        key = (location["catalog_name"], location["schema_name"])
        if key in self.schema_locations:
            raise ApiError("ALREADY_EXISTS", f"trace location {'.'.join(key)} already exists")
        self.schema_locations.add(key)
        return {
            "uc_schema": {
                **location,
                "otel_spans_table_name": "mlflow_experiment_trace_otel_spans",
                "otel_logs_table_name": "mlflow_experiment_trace_otel_logs",
            }
        }

    def link_schema_location(self, experiment_id: str, body: dict) -> dict:
        location = body["uc_schema"]
        self.experiment(experiment_id)["tags"][DESTINATION_TAG] = (
            f"{location['catalog_name']}.{location['schema_name']}"
        )
        return {}

    def create_prefix_location(self, body: dict) -> dict:
        """The table-prefix form: <prefix>_otel_* tables, created or found (idempotent)."""
        location = body["uc_table_prefix"]
        catalog, schema, prefix = (
            location["catalog_name"],
            location["schema_name"],
            location["table_prefix"],
        )
        self.prefix_locations.add((catalog, schema, prefix))
        full = f"{catalog}.{schema}.{prefix}"
        return {
            "uc_table_prefix": {
                "catalog_name": catalog,
                "schema_name": schema,
                "table_prefix": prefix,
                "spans_table_name": f"{full}_otel_spans",
                "logs_table_name": f"{full}_otel_logs",
                "annotations_table_name": f"{full}_otel_annotations",
            }
        }

    def link_prefix_location(self, experiment_id: str, body: dict) -> dict:
        location = body["uc_table_prefix"]
        tags = self.experiment(experiment_id)["tags"]
        full = f"{location['catalog_name']}.{location['schema_name']}.{location['table_prefix']}"
        if tags.get(DESTINATION_TAG, full) != full:
            raise ApiError(
                "INVALID_PARAMETER_VALUE", f"experiment is linked to {tags[DESTINATION_TAG]}"
            )
        tags[DESTINATION_TAG] = full
        for field, tag in TABLE_TAGS.items():
            if location.get(field):
                tags[tag] = location[field]
        return {}

    def scheduled_scorers_api(self, method: str, experiment_id: str, body: dict) -> dict:
        self.experiment(experiment_id)
        if method == "GET":
            return {"scheduled_scorers": {"scorers": self.scheduled_scorers.get(experiment_id, [])}}
        if method == "POST":
            if experiment_id in self.scheduled_scorers:
                raise ApiError(
                    "ALREADY_EXISTS", "scheduled scorers already exist for this experiment"
                )
            self.scheduled_scorers[experiment_id] = []
        elif experiment_id not in self.scheduled_scorers:
            raise ApiError("NOT_FOUND", "no scheduled scorers for this experiment")
        if method not in ("POST", "PATCH"):
            raise ApiError(
                "NOT_IMPLEMENTED", f"the test double does not emulate {method} scheduled-scorers"
            )
        current = {c["name"]: c for c in self.scheduled_scorers[experiment_id]}
        updated = []
        for config in body["scheduled_scorers"]["scorers"]:
            config = dict(config)
            before = current.get(config["name"])
            if before is None:
                config["scorer_version"] = 1
            elif before["serialized_scorer"] != config["serialized_scorer"]:
                config["scorer_version"] = before.get("scorer_version", 1) + 1
            else:
                config["scorer_version"] = before.get("scorer_version", 1)
            updated.append(config)
        self.scheduled_scorers[experiment_id] = updated
        return {"scheduled_scorers": {"scorers": updated}}

    def effective_permissions(self, full_name: str, principal: str | None) -> dict:
        assignments = [
            {"principal": who, "privileges": [{"privilege": p} for p in sorted(privileges)]}
            for (name, who), privileges in sorted(self.grants.items())
            if name == full_name and (principal is None or who == principal)
        ]
        return {"privilege_assignments": assignments}

    # -- Unity Catalog tables and the managed evaluation datasets they back ------------------
    def uc_table(self, full_name: str) -> dict:
        if full_name not in self.uc_tables:
            raise ApiError("TABLE_DOES_NOT_EXIST", f"Table '{full_name}' does not exist.")
        catalog, schema, name = full_name.split(".")
        return {
            "full_name": full_name,
            "catalog_name": catalog,
            "schema_name": schema,
            "name": name,
            "table_id": self.uc_tables[full_name],
        }

    def dataset_json(self, dataset_id: str) -> dict:
        if dataset_id not in self.datasets:
            raise ApiError("RESOURCE_DOES_NOT_EXIST", f"Dataset {dataset_id} does not exist")
        found = self.datasets[dataset_id]
        return {
            "dataset_id": dataset_id,
            "name": found["name"],
            "source_type": "databricks-uc-table",
            "experiment_ids": found["experiment_ids"],
            "digest": f"digest-{dataset_id}-{len(found['records'])}",
            "is_uc_native": True,  # writes go to the table itself: no client-side Spark sync
        }

    def datasets_api(self, method: str, rest: list[str], query: dict, body: dict) -> dict:
        """Create a dataset (and its UC table), get it, page through and add its records."""
        if not rest and method == "POST":
            if body["name"] in self.uc_tables:
                raise ApiError("ALREADY_EXISTS", f"Table '{body['name']}' already exists.")
            dataset_id = f"dataset-{len(self.datasets) + 1}"
            experiments = [e for e in query.get("experiment_ids", "").split(",") if e]
            self.datasets[dataset_id] = {
                "name": body["name"],
                "experiment_ids": experiments,
                "records": [],
                "versions": ["CREATE TABLE"],  # the table's Delta history: one per write
            }
            self.uc_tables[body["name"]] = dataset_id  # UC-native: the table is the dataset's
            return self.dataset_json(dataset_id)
        dataset = self.dataset_json(rest[0]) and self.datasets[rest[0]]
        if len(rest) == 1 and method == "GET":
            return self.dataset_json(rest[0])
        if rest[1:] == ["records"] and method == "GET":
            start = int(query.get("page_token") or 0)
            end = start + self.records_page_size
            page = {"dataset_records": dataset["records"][start:end]}
            if end < len(dataset["records"]):
                page["next_page_token"] = str(end)
            return page
        if rest[1:] == ["versions"] and method == "GET":
            return {
                "dataset_versions": [
                    {"dataset_id": rest[0], "version": number, "operation": operation}
                    for number, operation in enumerate(dataset["versions"])
                ]
            }
        if rest[1:] == ["records:batchCreate"] and method == "POST":
            if self.failing_record_writes > 0:
                self.failing_record_writes -= 1
                raise ApiError("INTERNAL_ERROR", "the test double failed this write on purpose")
            for item in body["requests"]:
                record = dict(item["dataset_record"])
                record["dataset_record_id"] = f"{rest[0]}-record-{len(dataset['records']) + 1}"
                dataset["records"].append(record)
            dataset["versions"].append("MERGE")
            return {}
        raise ApiError("NOT_IMPLEMENTED", f"the test double does not emulate {method} datasets")

    # -- SQL statements: SELECT * FROM a table, as the Statement Execution API answers it -----
    def execute_statement(self, body: dict) -> dict:
        if body.get("warehouse_id") not in self.warehouses:
            raise ApiError(
                "RESOURCE_DOES_NOT_EXIST",
                f"SQL warehouse {body.get('warehouse_id')} does not exist",
            )
        statement_id = f"stmt-{len(self.statements) + 1}"
        found = SELECT_TABLE.match(body.get("statement", ""))
        name = ".".join(found.groups()) if found else None
        self.statements[statement_id] = {
            "table": name,
            "polls_left": self.pending_polls,
            "body": body,
        }
        return self.statement_response(statement_id, polling=False)

    def statement_response(self, statement_id: str, polling: bool = True) -> dict:
        if statement_id not in self.statements:
            raise ApiError("RESOURCE_DOES_NOT_EXIST", f"statement {statement_id} does not exist")
        statement = self.statements[statement_id]
        if polling:
            statement["polls_left"] -= 1
        if statement["polls_left"] > 0:
            return {"statement_id": statement_id, "status": {"state": "PENDING"}}
        if statement["table"] not in self.tables:
            message = (
                f"[TABLE_OR_VIEW_NOT_FOUND] The table or view {statement['table']} cannot be found."
            )
            if statement["table"] is None:
                message = "[PARSE_SYNTAX_ERROR] the test double only runs SELECT * FROM `c`.`s`.`t`"
            return {
                "statement_id": statement_id,
                "status": {"state": "FAILED", "error": {"message": message}},
            }
        columns, rows = self.tables[statement["table"]]
        chunks = max(1, -(-len(rows) // self.rows_per_chunk))
        return {
            "statement_id": statement_id,
            "status": {"state": "SUCCEEDED"},
            "manifest": {
                "format": "JSON_ARRAY",
                "schema": {
                    "column_count": len(columns),
                    "columns": [
                        {"name": c, "type_name": "STRING", "position": i}
                        for i, c in enumerate(columns)
                    ],
                },
                "total_chunk_count": chunks,
                "total_row_count": len(rows),
            },
            "result": self.result_chunk(statement_id, 0),
        }

    def result_chunk(self, statement_id: str, index: int) -> dict:
        _, rows = self.tables[self.statements[statement_id]["table"]]
        start = index * self.rows_per_chunk
        page = rows[start : start + self.rows_per_chunk]
        chunk = {
            "chunk_index": index,
            "row_offset": start,
            "row_count": len(page),
            "data_array": page,
        }
        if start + self.rows_per_chunk < len(rows):
            chunk["next_chunk_index"] = index + 1
            chunk["next_chunk_internal_link"] = (
                f"/api/2.0/sql/statements/{statement_id}/result/chunks/{index + 1}"
            )
        return chunk
