"""MLflow evaluation datasets (`mlflow.genai.datasets`): find one by name, read its records,
merge records into it. The same code serves a local store and Databricks, where the dataset is
backed by the Unity Catalog table its name gives (catalog.schema.table).

Verified on MLflow 3.17.2: a local store accepts a second dataset of the same name without a
word, and `get_dataset(name=)` then fails; so the id of a dataset this project creates is kept
in an experiment tag, and an unpinned name found twice is an error naming both ids.
`merge_records` upserts by inputs. On Databricks the datasets API is in databricks-agents.
"""

from __future__ import annotations

import math

from .config import EvalConfig
from .dataset import DatasetError, Record, check_records
from .dataset_record import RECORD_ID_TAG, DatasetRecord
from .evaluation.judge_cache import canonical

# Record sources as MLflow keeps them (DatasetRecordSourceType).
TRACE, HUMAN, CODE = "TRACE", "HUMAN", "CODE"


def require_databricks_agents() -> None:
    """On Databricks, mlflow.genai.datasets calls the databricks-agents package (MLflow 3.17.2
    raises an ImportError naming it only once a dataset is used): say so before any work."""
    import importlib.util

    if importlib.util.find_spec("databricks") is None or (
        importlib.util.find_spec("databricks.agents") is None
    ):
        raise DatasetError(
            "Databricks evaluation datasets need the databricks-agents package, which MLflow "
            "calls for them: pip install databricks-agents"
        )


def pin_tag(name: str) -> str:
    """The experiment tag keeping the id of the dataset this project made under `name`."""
    return f"eval.dataset_id.{name}"


def find_dataset(config: EvalConfig, name: str, experiment_id: str | None = None, pin=None):
    """The evaluation dataset called `name`, or None. Locally the id this project pinned in the
    experiment's tag `pin` (default pin_tag(name)) wins, so a second dataset someone made with
    the same name changes nothing; unpinned, two of one name are a DatasetError naming both."""
    from mlflow.genai import datasets

    if config.target == "databricks":  # a Unity Catalog table: its name is unique
        require_databricks_agents()
        try:
            return datasets.get_dataset(name=name)
        except Exception as err:  # noqa: BLE001 - the workspace says why; None means absent
            if "does not exist" in str(err) or "NOT_FOUND" in str(err):
                return None
            raise DatasetError(f"dataset {name!r}: {type(err).__name__}: {err}") from err
    if experiment_id is not None:
        import mlflow

        pinned = mlflow.get_experiment(experiment_id).tags.get(pin or pin_tag(name))
        if pinned:
            try:
                return datasets.get_dataset(dataset_id=pinned)
            except Exception:  # noqa: BLE001 - deleted since: look it up by name, as if unpinned
                pass
    quoted = name.replace("'", "\\'")
    found = datasets.search_datasets(filter_string=f"name = '{quoted}'")
    if len(found) > 1:
        ids = ", ".join(d.dataset_id for d in found)
        raise DatasetError(
            f"dataset {name!r}: {len(found)} MLflow datasets have this name ({ids}); delete all "
            "but one (mlflow.genai.datasets.delete_dataset) or set datasets.name to a new name"
        )
    return found[0] if found else None


def require_dataset(config: EvalConfig, name: str, experiment_id: str | None = None):
    """The dataset called `name`; DatasetError naming it and how to make it when absent."""
    dataset = find_dataset(config, name, experiment_id)
    if dataset is None:
        raise DatasetError(
            f"mlflow:{name}: no MLflow evaluation dataset has this name in "
            f"{config.resolved_tracking_uri}; build it with `dataset from-traces` or check "
            "datasets.name and --dataset"
        )
    return dataset


def open_or_create(config: EvalConfig, name: str, experiment_id: str, pin=None):
    """The dataset called `name`, created (linked to the experiment) when there is none; a
    local one's id is pinned in the experiment's tag (see find_dataset)."""
    import mlflow
    from mlflow.genai import datasets

    found = find_dataset(config, name, experiment_id, pin)
    if found is not None:
        return found
    dataset = datasets.create_dataset(name=name, experiment_id=[experiment_id])
    if config.target != "databricks":
        mlflow.MlflowClient().set_experiment_tag(
            experiment_id, pin or pin_tag(name), dataset.dataset_id
        )
    return dataset


def read_records(dataset) -> list[DatasetRecord]:
    """Every record of the dataset, in the order MLflow returns them."""
    frame = dataset.to_df()
    records = []
    for row in frame.to_dict("records"):
        tags = {
            k: str(v) for k, v in (row.get("tags") or {}).items() if not k.startswith("mlflow.")
        }
        records.append(
            DatasetRecord(
                inputs=row.get("inputs") or {},
                expectations=row.get("expectations") or {},
                id=tags.get(RECORD_ID_TAG),
                source=source_label(
                    row.get("source_type"), row.get("source_id"), row.get("source")
                ),
                tags=tags,
            )
        )
    return records


def source_label(source_type, source_id, source=None) -> str:
    """A DatasetRecord's source: trace:<id> for a record made from a trace, the origin this module
    wrote for one made by code (expand:<generator>, file), else the type."""
    present = isinstance(source_id, str) and source_id  # pandas gives NaN for none
    if source_type == TRACE and present:
        return f"trace:{source_id}"
    origin = (getattr(source, "source_data", None) or {}).get("origin")
    if source_type == CODE and isinstance(origin, str) and origin:
        return origin
    if source_type is None or (isinstance(source_type, float) and math.isnan(source_type)):
        return "code"
    return str(source_type).lower()


def as_mlflow_record(record: DatasetRecord) -> dict:
    """A DatasetRecord as merge_records takes it: tags carry the id, generator and parent; the
    source says which trace a record came from."""
    tags = dict(record.tags)
    if record.id:
        tags[RECORD_ID_TAG] = record.id
    row: dict = {"inputs": record.inputs, "tags": tags}
    if record.expectations:
        row["expectations"] = record.expectations
    if record.source.startswith("trace:"):
        trace_id = record.source.removeprefix("trace:")
        row["source"] = {"source_type": TRACE, "source_data": {"trace_id": trace_id}}
    elif record.source == "human":
        row["source"] = {"source_type": HUMAN, "source_data": {}}
    else:
        row["source"] = {"source_type": CODE, "source_data": {"origin": record.source}}
    return row


def new_inputs(records: list[DatasetRecord], present: list[DatasetRecord]) -> list[DatasetRecord]:
    """The records whose inputs neither `present` nor an earlier record has. MLflow upserts by
    inputs: a record with the inputs of one already there would overwrite that record's
    expectations and tags (16 empty-input variants of 16 records are one record to MLflow)."""
    taken = {canonical(r.inputs) for r in present}
    fresh = []
    for record in records:
        if (key := canonical(record.inputs)) not in taken:
            taken.add(key)
            fresh.append(record)
    return fresh


def merge(dataset, records: list[DatasetRecord], present: list[DatasetRecord]):
    """Merge the records whose inputs the dataset (holding `present`) lacks; returns them."""
    fresh = new_inputs(records, present)
    if fresh:
        dataset.merge_records([as_mlflow_record(r) for r in fresh])
    return fresh


def evaluation_records(config: EvalConfig, name: str) -> list[Record]:
    """The dataset's records as `evaluate` reads a file's, checked by the same rules
    (dataset.check_records): a record without inputs is an error naming it."""
    from .runtime import connect

    _, experiment = connect(config)
    records = read_records(require_dataset(config, name, experiment.experiment_id))
    rows = []
    for number, record in enumerate(records, start=1):
        row = {"inputs": record.inputs, "expectations": record.expectations}
        if record.id:
            row["id"] = record.id
        rows.append((number, f"mlflow:{name} record {number}", row))
    return check_records(rows)
