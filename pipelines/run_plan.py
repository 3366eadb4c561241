"""A pipeline's task instances as kfp.local runs them (loop iterations expanded), named by the iteration's value.

kfp.local writes each task instance's outputs to `<run>/<task>` or, inside a top-level ParallelFor, to
`<run>/<loop>-iteration-<i>/<task>` (kfp 2.17.3 `kfp/local/orchestrator/enhanced_dag_orchestrator.py`
`_run_parallel_for_task`), so that relative folder identifies an instance. A person knows the iteration by its
value instead: `train-candidate[n_neighbors=7]`. Pure functions over the IR as a dict and the run's arguments.
"""
from __future__ import annotations

import json
import re

from pipelines.local_progress import _in_order

ITERATION = re.compile(r"^(?P<loop>.+)-iteration-(?P<index>\d+)$")


def _loop_items(loop: dict, arguments: dict, root_inputs: dict) -> list | None:
    items = loop["parameterIterator"]["items"]
    if "raw" in items:
        return json.loads(items["raw"])
    channel = loop.get("inputs", {}).get("parameters", {}).get(items.get("inputParameter", ""), {})
    argument = channel.get("componentInputParameter")
    if argument in arguments:
        return list(arguments[argument])
    default = root_inputs.get(argument, {}).get("defaultValue")
    return default if isinstance(default, list) else None


def _item_name(loop: dict, inner: dict) -> str:
    """The input name under which the loop's tasks take the loop item (`n_neighbors`), else `item`."""
    item = loop["parameterIterator"].get("itemInput")
    for task in inner.values():
        for name, channel in (task.get("inputs") or {}).get("parameters", {}).items():
            if channel.get("componentInputParameter") == item:
                return name
    return "item"


def value_text(value) -> str:
    """A loop item as a person writes it (`7`, not `7.0`: kfp.local hands integers over as floats)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def plan(spec: dict, arguments: dict) -> list[dict]:
    """Every container-task instance of a run, in dependency order: {"id": folder relative to the run, "task",
    "label": the iteration as `name=value` (None outside loops), "group": the loop's name, "depends": [ids]}."""
    components = spec.get("components", {})
    root_inputs = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    tasks = spec["root"]["dag"]["tasks"]
    sinks: dict[str, list[str]] = {}    # top-level task -> the instance ids that finish it
    nodes: list[dict] = []

    def depends_on(names) -> list[str]:
        return [i for name in names for i in sinks.get(name, [])]

    for name in _in_order(tasks):
        task = tasks[name]
        upstream = depends_on(task.get("dependentTasks", []))
        component = components.get(task["componentRef"]["name"], {})
        if "dag" not in component:
            nodes.append({"id": name, "task": task.get("taskInfo", {}).get("name", name), "label": None,
                          "group": None, "depends": upstream})
            sinks[name] = [name]
            continue
        inner = component["dag"]["tasks"]
        looped = "parameterIterator" in task
        items = _loop_items(task, arguments, root_inputs) if looped else [None]
        count = len(items) if items is not None else 0   # not known before the run: shown as it runs
        item_name = _item_name(task, inner) if looped else None
        group = task.get("taskInfo", {}).get("name", name)
        inner_order = _in_order(inner)
        has_dependents = {d for t in inner.values() for d in t.get("dependentTasks", [])}
        sinks[name] = []
        for index in range(count):
            prefix = f"{name}-iteration-{index}/" if looped else f"{name}/"
            label = f"{item_name}={value_text(items[index])}" if looped and items is not None else None
            for inner_name in inner_order:
                inner_task = inner[inner_name]
                inner_up = [prefix + d for d in inner_task.get("dependentTasks", []) if d in inner]
                nodes.append({"id": prefix + inner_name, "task": inner_task.get("taskInfo", {}).get("name", inner_name),
                              "label": label, "group": f"{group} (ParallelFor)" if looped else group,
                              "depends": inner_up or upstream})
                if inner_name not in has_dependents:
                    sinks[name].append(prefix + inner_name)
    return nodes


def display_name(node: dict) -> str:
    """`train-candidate[n_neighbors=7]` for a loop iteration's task, the task's name otherwise."""
    return f"{node['task']}[{node['label']}]" if node.get("label") else node["task"]


def named_failure(chain: str, nodes: list[dict]) -> str:
    """kfp.local's failing task chain (`train-candidate inside for-loop-1-iteration-2`) in the iteration's words."""
    parts = [p.strip() for p in chain.split(" inside ")]
    found = ITERATION.match(parts[-1]) if len(parts) > 1 else None
    if found:
        node_id = f"{parts[-1]}/{parts[0]}"
        for node in nodes:
            if node["id"] == node_id:
                return display_name(node)
    return parts[0]
