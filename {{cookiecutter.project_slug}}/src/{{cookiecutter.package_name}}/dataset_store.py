"""MLflow evaluation datasets (`mlflow.genai.datasets`): find one by name, read its records,
merge records into it. The same code serves a local store and Databricks, where the dataset is
backed by the Unity Catalog table its name gives (catalog.schema.table).

Verified on MLflow 3.17.2: a local store accepts a second dataset of the same name without a
word, and `get_dataset(name=)` then fails; so the id of a dataset this project creates is kept
in an experiment tag, and an unpinned name found twice is an error naming both ids.
`merge_records` upserts by inputs. On Databricks the datasets API is in databricks-agents
(verified with 1.13.0): a record's source is written in its own shape ({"trace": {"trace_id"}}),
and a batch of records the workspace refuses is logged, not raised, so `merge` counts the
records after writing and fails when some did not land.
"""

from __future__ import annotations

import json

from .config import EvalConfig
from .dataset import DatasetError, Record, check_records
from .dataset_record import GENERATOR_TAG, RECORD_ID_TAG, DatasetRecord
from .evaluation.judge_cache import canonical
from .evaluation.session_checks import split_turns

# Record sources as MLflow keeps them (DatasetRecordSourceType).
TRACE, HUMAN, CODE = "TRACE", "HUMAN", "CODE"


# The databricks-agents version the Databricks dataset path was verified with (its REST calls
# and record shapes, against the workspace test double).
AGENTS_MIN = (1, 13)
# A conversation's scripted turns, as JSON text: MLflow's conversation records take only goal,
# persona, context and simulation_guidelines as inputs (its simulator ignores the tag).
TURNS_TAG = "conversation.turns"


def require_databricks_agents() -> None:
    """On Databricks, mlflow.genai.datasets calls the databricks-agents package (MLflow 3.17.2
    raises an ImportError naming it only once a dataset is used): say so before any work, and
    when the installed one is older than the verified version."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    from .runtime import parse_version

    floor = ".".join(map(str, AGENTS_MIN))
    fix = f"pip install 'databricks-agents>={floor},<2'"
    if importlib.util.find_spec("databricks") is None or (
        importlib.util.find_spec("databricks.agents") is None
    ):
        raise DatasetError(
            "Databricks evaluation datasets need the databricks-agents package, which MLflow "
            f"calls for them: {fix}"
        )
    try:
        installed = version("databricks-agents")
    except PackageNotFoundError:  # importable without metadata: a source checkout; trust it
        return
    if parse_version(installed) < AGENTS_MIN:
        raise DatasetError(
            f"databricks-agents {installed} is older than {floor}, the version this project's "
            f"Databricks datasets were verified with: {fix}"
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
        inputs = row.get("inputs") or {}
        if TURNS_TAG in tags:  # a conversation's scripted turns (as_mlflow_record)
            inputs = {**inputs, "turns": json.loads(tags.pop(TURNS_TAG))}
        records.append(
            DatasetRecord(
                inputs=inputs,
                expectations=row.get("expectations") or {},
                id=tags.get(RECORD_ID_TAG),
                source=source_label(row, tags),
                tags=tags,
            )
        )
    return records


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None  # pandas gives NaN for none


def source_label(row: dict, tags: dict[str, str]) -> str:
    """A record's source: trace:<id> for a record made from a trace, the origin this module wrote
    for one made by code (expand:<generator>, file), human, else code. A local store gives
    source_type, source_id and source (a DatasetRecordSource); Databricks gives source alone, as
    {"trace": {"trace_id": ...}} or {"human": {...}}, and keeps no origin: the generator tag
    names it."""
    source = row.get("source")
    if "source_type" not in row:  # Databricks
        source = source or {}
        trace_id = _text((source.get("trace") or {}).get("trace_id"))
        if trace_id:
            return f"trace:{trace_id}"
        if source.get("human"):
            return "human"
        generator = tags.get(GENERATOR_TAG)
        return f"expand:{generator}" if generator else "code"
    source_type, source_id = row.get("source_type"), _text(row.get("source_id"))
    if source_type == TRACE and source_id:
        return f"trace:{source_id}"
    origin = _text((getattr(source, "source_data", None) or {}).get("origin"))
    if source_type == CODE and origin:
        return origin
    if not _text(source_type):
        return "code"
    return str(source_type).lower()


def as_mlflow_record(record: DatasetRecord, target: str = "local") -> dict:
    """A DatasetRecord as merge_records takes it: tags carry the id, generator and parent; the
    source says which trace a record came from. Databricks takes a trace source only (a human
    one needs a user name these records do not carry; the tags say what code made)."""
    tags = dict(record.tags)
    if record.id:
        tags[RECORD_ID_TAG] = record.id
    inputs, turns = split_turns(record.inputs)
    if turns is not None:
        tags[TURNS_TAG] = json.dumps(turns, ensure_ascii=False)
    row: dict = {"inputs": inputs, "tags": tags}
    if record.expectations:
        row["expectations"] = record.expectations
    trace_id = record.source.removeprefix("trace:") if record.source.startswith("trace:") else ""
    if target == "databricks":
        if trace_id:
            row["source"] = {"trace": {"trace_id": trace_id}}
    elif trace_id:
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
    taken = {canonical(split_turns(r.inputs)[0]) for r in present}
    fresh = []
    for record in records:
        if (key := canonical(split_turns(record.inputs)[0])) not in taken:
            taken.add(key)
            fresh.append(record)
    return fresh


def merge(config: EvalConfig, dataset, records: list[DatasetRecord], present) -> list:
    """Merge the records whose inputs the dataset (holding `present`) lacks; returns them.
    The dataset is counted after the write: a DatasetError says how many did not land (on
    Databricks, a refused batch is only logged by the client)."""
    fresh = new_inputs(records, present)
    if not fresh:
        return fresh
    # The handle merge_records returns reads the records afresh (a Databricks handle caches
    # the ones it read before).
    after = dataset.merge_records([as_mlflow_record(r, config.target) for r in fresh])
    expected, held = len(present) + len(fresh), len(after.to_df())
    if held < expected:
        raise DatasetError(
            f"mlflow:{dataset.name}: {expected - held} of {len(fresh)} new record(s) did not "
            f"reach the dataset (it holds {held} of {expected}): the store refused a write. Run "
            "the command again: records already there are left alone"
        )
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
