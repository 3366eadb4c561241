"""kfp.local made to hand data between tasks the way the KFP 2.17 backend does, so local runs catch what only a
cluster run would otherwise show. Facts read at kubeflow/pipelines tag 2.17.0:

- Artifact metadata goes through ML Metadata between tasks. `backend/src/v2/metadata/converter.go`
  `StructValueToMLMDValue` (lines 138-171) stores a number as a double, a bool as the int 1/0, a list as the struct
  {"list": [...]} and a dict as {"struct": {...}}, and refuses null; `toRuntimeArtifact` (lines 181-221) hands them
  back as numbers and structs, so the next task sees {"struct": ...} and {"list": ...}, never the original value.
  `_kfp_workspace` is not stored (lines 121-126).
- `backend/src/v2/metadata/client.go` `RecordArtifact` (lines 1234-1250) adds `display_name` (the output's name) and
  `store_session_info` (a JSON string) to every artifact it records, unless the task set them.
- Parameters travel as protobuf Values: every number is a float64 (converter.go `TextToPbValue`, lines 59-69), so an
  integer beyond 2**53 arrives rounded.

kfp.local (2.17.3) passes metadata and numbers through unchanged; `backend_faithful` patches the one place where
it reads a finished task's outputs (`kfp.local.executor_output_utils.get_outputs_for_task`) to apply the above.
"""
from __future__ import annotations

import json
import math

import pytest

# What the launcher writes into store_session_info for a MinIO root (backend/src/v2/objectstore/config.go).
SESSION_INFO = json.dumps({"provider": "minio", "params": {"region": "minio", "endpoint": "minio.kubeflow:9000",
                                                           "disableSSL": "true", "fromEnv": "false"}})


class BackendRefused(ValueError):
    """What the launcher fails a task with when its metadata holds a value MLMD cannot store."""


def mlmd_value(value):
    """One metadata value after a trip through MLMD, as the next task reads it."""
    if value is None:
        raise BackendRefused("unknown/unsupported value type: null in artifact metadata")
    if isinstance(value, bool):
        return float(int(value))
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return {"list": [_struct_value(v) for v in value]}
    if isinstance(value, dict):
        return {"struct": {str(k): _struct_value(v) for k, v in value.items()}}
    raise BackendRefused(f"unknown/unsupported value type {type(value).__name__} in artifact metadata")


def _struct_value(value):
    """A value inside a protobuf Struct/ListValue: numbers are doubles, the rest keeps its shape."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_struct_value(v) for v in value]
    return {str(k): _struct_value(v) for k, v in value.items()}


def mlmd_metadata(metadata: dict, output_name: str) -> dict:
    """A whole artifact's metadata as the backend hands it to the next task."""
    stored = {k: mlmd_value(v) for k, v in metadata.items() if k != "_kfp_workspace"}
    stored.setdefault("display_name", output_name)
    stored.setdefault("store_session_info", SESSION_INFO)
    return stored


def float64_parameter(value):
    """A parameter value as a protobuf Value carries it: numbers as float64, whole ones read back as int."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    number = float(value)
    return int(number) if math.isfinite(number) and number.is_integer() and isinstance(value, int) else number


def backend_outputs(outputs: dict) -> dict:
    """A finished task's outputs (kfp.local's dict: name -> value, Artifact or list of Artifacts), backend-shaped."""
    from kfp import dsl

    shaped = {}
    for name, value in outputs.items():
        artifacts = value if isinstance(value, list) else [value]
        if artifacts and all(isinstance(a, dsl.Artifact) for a in artifacts):
            for artifact in artifacts:
                artifact.metadata = mlmd_metadata(dict(artifact.metadata), name)
            shaped[name] = value
        else:
            shaped[name] = float64_parameter(value)
    return shaped


def hand_over_like_the_backend(patch: pytest.MonkeyPatch) -> None:
    """From now until `patch` is undone, kfp.local hands each finished task's outputs on backend-shaped."""
    from kfp.local import executor_output_utils

    original = executor_output_utils.get_outputs_for_task
    patch.setattr(executor_output_utils, "get_outputs_for_task",
                  lambda *args, **kwargs: backend_outputs(original(*args, **kwargs)))


@pytest.fixture
def backend_faithful(monkeypatch):
    """Within the test, kfp.local tasks receive metadata and parameters as the KFP backend would hand them over."""
    hand_over_like_the_backend(monkeypatch)


def cache_hits(pipeline_spec: dict, parameters: dict, earlier: list[dict]) -> set[str]:
    """The root DAG's tasks the backend's driver would serve from its cache when this run is submitted after the
    `earlier` run bodies: caching enabled for the task (`cachingOptions.enableCache`) and an earlier run of the
    same task with the same inputs (the fingerprint of backend/src/v2/cacheutils/cache.go `GenerateFingerPrint`
    covers the component and its inputs). On a hit no executor pod runs (argocompiler/container.go, lines 428-433:
    the executor step's `when` is cached-decision != true)."""
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    hits = set()
    for name, task in tasks.items():
        if not (task.get("cachingOptions") or {}).get("enableCache"):
            continue
        for body in earlier:
            same_task = body["pipeline_spec"]["root"]["dag"]["tasks"].get(name) == task
            same_component = body["pipeline_spec"]["components"] == pipeline_spec["components"]
            if same_task and same_component and body["runtime_config"].get("parameters") == parameters:
                hits.add(name)
    return hits
