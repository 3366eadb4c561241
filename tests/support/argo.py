"""The run records a KFP 2.17 backend returns, built the way its parts write them, for the stand-in and the view tests.

- `workflow`: the Argo Workflow (argo-workflows v4.0.5, `status.nodes`) of a pipeline compiled by KFP 2.17's
  argocompiler: each pipeline task is a `<task>-driver` pod (`system-container-driver`) plus a `<task>` DAG
  (`system-container-executor`) holding the `executor` pod (`system-container-impl`); a ParallelFor is a DAG with an
  `iteration-driver` and a TaskGroup `iteration-iterations` expanded to `iteration-iterations(i:i)`, each an
  `iteration-item-driver` plus an `iteration-item` DAG. Upstream's `workflowDefaults` give every template a
  retryStrategy, so every node is a Retry node whose attempt `(0)` does the work. Node names are the boundary DAG's
  name plus `.<task>`; display names drop the boundary's name (workflow/controller/operator.go `initializeNode`).
- `run_detail_v1`: `GET /apis/v1beta1/runs/ID`, the stored workflow as a JSON string in
  `pipeline_runtime.workflow_manifest` (snake_case field names: apiserver/common/utils.go `CustomMarshaler`).
- `run_v2`: `GET /apis/v2beta1/runs/ID`, whose `task_details` are the same nodes with neither pod name, parent nor
  error; their children are listed as `child_tasks[].pod_name` holding node ids (apiserver/server/api_converter.go).
"""
import base64
import gzip
import json

WORKFLOW_NAME = "wine-tuning-x7k2p"
CREATED = "2026-11-29T01:02:03Z"


class ArgoWorkflow:
    def __init__(self, name=WORKFLOW_NAME, phase="Running"):
        self.name, self.nodes = name, {}
        self.root = self._retried(name, name, "DAG", "entrypoint", phase, boundary=None)

    def _add(self, name, type_, template, phase, boundary, message=None):
        node_id = f"{self.name}-{1000000000 + len(self.nodes)}"
        boundary_name = self.nodes[boundary]["name"] if boundary else None
        display = name[len(boundary_name):].lstrip(".") if boundary_name else name
        self.nodes[node_id] = {"id": node_id, "name": name, "displayName": display, "type": type_,
                               "templateName": template, "phase": phase, "children": [],
                               **({"boundaryID": boundary} if boundary else {}),
                               **({"message": message} if message else {})}
        return node_id

    def _retried(self, name, task, type_, template, phase, boundary, message=None):
        """A Retry node `<name>` and its first attempt `<name>(0)`; returns the attempt's id."""
        retry = self._add(name, "Retry", template, phase, boundary, message and "No more retries left")
        attempt = self._add(f"{name}(0)", type_, template, phase, boundary, message)
        self.nodes[retry]["children"].append(attempt)
        return attempt

    def _child_name(self, boundary, task):
        return f"{self.nodes[boundary]['name']}.{task}"

    def dag(self, boundary, task, template, phase="Succeeded", driver_phase="Succeeded"):
        """A DAG task with its dag driver; returns the DAG attempt's id (the boundary of what it holds)."""
        self._retried(self._child_name(boundary, f"{task}-driver"), task, "Pod", "system-dag-driver", driver_phase,
                      boundary)
        return self._retried(self._child_name(boundary, task), task, "DAG", template, phase, boundary,
                             "child failed" if phase == "Failed" else None)

    def container(self, boundary, task, phase="Succeeded", message=None):
        """A container task: driver pod, executor DAG, executor pod; returns the executor pod's node."""
        self._retried(self._child_name(boundary, f"{task}-driver"), task, "Pod", "system-container-driver",
                      "Succeeded", boundary)
        executor_dag = self._retried(self._child_name(boundary, task), task, "DAG", "system-container-executor",
                                     phase, boundary, "child failed" if phase == "Failed" else None)
        pod = self._retried(self._child_name(executor_dag, "executor"), "executor", "Pod", "system-container-impl",
                            phase, executor_dag, message)
        return self.nodes[pod]

    def loop(self, boundary, task, phases):
        """A ParallelFor over len(phases) iterations; returns each iteration's `iteration-item` DAG id."""
        loop = self._retried(self._child_name(boundary, task), task, "DAG", f"comp-{task}-{task}-iterator",
                             _worst(phases), boundary)
        self._retried(self._child_name(loop, "iteration-driver"), task, "Pod", "system-dag-driver", "Succeeded", loop)
        group = self._add(self._child_name(loop, "iteration-iterations"), "TaskGroup", "", _worst(phases), loop)
        items = []
        for index, phase in enumerate(phases):
            iteration = self._retried(self._child_name(loop, f"iteration-iterations({index}:{index})"), task, "DAG",
                                      f"comp-{task}-iteration", phase, loop)
            self.nodes[group]["children"].append(iteration)
            items.append(self.dag(iteration, "iteration-item", f"comp-{task}", phase))
        return items

    def manifest(self, compressed=False):
        """The Workflow object; `compressed`: its nodes moved to `status.compressedNodes` as Argo's controller does
        past its size limit (workflow/packer/packer.go: the nodes' JSON gzipped then base64, `nodes` left out)."""
        status = {"phase": self.nodes[self.root]["phase"]}
        if compressed:
            status["compressedNodes"] = base64.b64encode(gzip.compress(json.dumps(self.nodes).encode())).decode()
        else:
            status["nodes"] = self.nodes
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                "metadata": {"name": self.name, "namespace": "kubeflow", "creationTimestamp": CREATED,
                             "labels": {"pipeline/runid": "r"}},
                "status": status}


def _worst(phases):
    return next((p for p in ("Failed", "Running", "Pending") if p in phases), "Succeeded")


def wine_workflow(iteration_phases=("Succeeded", "Succeeded"), failed_message=None):
    """A wine run's workflow; an iteration whose phase is Failed has its train-candidate executor failed."""
    wf = ArgoWorkflow(phase=_worst(iteration_phases))
    root = wf.dag(wf.root, "root", "root", wf.nodes[wf.root]["phase"])
    for task in ("load-data", "validate-data", "split-data"):
        wf.container(root, task)
    for item, phase in zip(wf.loop(root, "for-loop-1", list(iteration_phases)), iteration_phases, strict=True):
        wf.container(item, "train-candidate", phase, failed_message if phase == "Failed" else None)
        if phase != "Failed":
            wf.container(item, "score-candidate", phase)
    if "Failed" not in iteration_phases and "Running" not in iteration_phases:
        wf.container(root, "select-best")
        wf.container(root, "evaluate-model")
    return wf


def quickstart_workflow(cached=()):
    """A finished quickstart run's workflow: `add` then `add-2` (KFP's name for the second call of a component).
    Tasks in `cached` were cache hits: their executor step was skipped, so no pod ran (argocompiler container.go)."""
    wf = ArgoWorkflow(name="quickstart-addition-q8m4n", phase="Succeeded")
    root = wf.dag(wf.root, "root", "root")
    first = wf.container(root, "add", "Skipped" if "add" in cached else "Succeeded")
    last = wf.container(root, "add-2", "Skipped" if "add-2" in cached else "Succeeded")
    return wf, first, last


def run_detail_v1(run_id, workflow):
    return {"run": {"id": run_id, "name": "wine-tuning 2026-11-29", "status": workflow["status"]["phase"]},
            "pipeline_runtime": {"workflow_manifest": json.dumps(workflow)}}


def run_v2(run_id, state, workflow):
    """The v2beta1 run: state, and the nodes as 2.17 reports them in task_details (no pod, parent or error)."""
    states = {"Succeeded": "SUCCEEDED", "Failed": "FAILED", "Error": "FAILED", "Running": "RUNNING",
              "Pending": "PENDING", "Omitted": "SKIPPED", "Skipped": "SKIPPED"}
    details = [{"run_id": run_id, "task_id": f"uuid-{node['id']}", "display_name": node["displayName"],
                "state": states.get(node["phase"], "RUNTIME_STATE_UNSPECIFIED"),
                "child_tasks": [{"pod_name": child} for child in node["children"]]}
               for node in (workflow.get("status") or {}).get("nodes", {}).values()]
    return {"run_id": run_id, "display_name": "wine-tuning 2026-11-29", "experiment_id": "exp-1", "state": state,
            "run_details": {"task_details": details} if details else None}
