"""The run report's data, gathered from a local run's folder (its record and the executors' outputs) or from a
cluster run's API data, and written as `report.html` (the HTML itself is `pipelines.report_html`'s job).

Candidates are the task outputs whose metadata carries `cv_accuracy` and `n_neighbors` (the wine pipeline's
score-candidate; flat scalars, read with `pipelines.wine.logic.hyperparameters`); the chosen one is the one
select-best passed on, and why it won follows `pipelines.wine.logic.pick_best`'s rule.
"""
from __future__ import annotations

import json
from pathlib import Path

from pipelines import report_html
from pipelines.run_history import REPORT, LocalRun
from pipelines.run_plan import display_name, value_text
from pipelines.wine.logic import hyperparameters

EXECUTOR_OUTPUT = "executor_output.json"


def _outputs(folder: Path, node_id: str) -> dict:
    """{artifact name: metadata} of one task instance's executor output ({} if it wrote none)."""
    try:
        data = json.loads((folder / node_id / EXECUTOR_OUTPUT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for name, entry in (data.get("artifacts") or {}).items():
        for artifact in entry.get("artifacts") or []:
            found[name] = artifact.get("metadata") or {}
    return found


def _hyperparameters_text(values: dict) -> str:
    return ", ".join(f"{k}={value_text(v)}" for k, v in sorted(dict(values).items()))


def why_chosen(candidates: list[dict], chosen: int) -> str:
    """Why `candidates[chosen]` won, in pick_best's terms: best mean score, then the steadier, then the smaller k."""
    best = candidates[chosen]
    tied = [c for i, c in enumerate(candidates) if i != chosen and c["score"] == best["score"]]
    if not tied:
        return (f"{best['label']} has the highest mean cross-validated accuracy ({best['score']:.4f}); ties would go "
                "to the steadier score (lower spread), then to the smaller n_neighbors.")
    names = ", ".join(c["label"] for c in tied)
    alike = [c for c in tied if c["spread"] == best["spread"]]
    if not alike:
        return (f"{best['label']} ties with {names} on mean accuracy ({best['score']:.4f}) and wins with the steadier "
                f"score: spread {best['spread']:.4f}, the lowest of them.")
    steadier_than = [c["label"] for c in tied if c not in alike]
    return (f"{best['label']} ties with {', '.join(c['label'] for c in alike)} on mean accuracy "
            f"({best['score']:.4f}) and spread ({best['spread']:.4f}); the smaller n_neighbors wins, so the choice "
            "never depends on which iteration finished first"
            + (f" ({', '.join(steadier_than)}: same mean, larger spread)." if steadier_than else "."))


def candidates_of(folder: Path, tasks: list[dict]) -> tuple[list[dict], str | None]:
    """Every scored candidate (in loop order) with the chosen one marked, and why it won."""
    candidates, chosen_hp = [], None
    for task in tasks:
        for metadata in _outputs(folder, task["id"]).values():
            if "cv_accuracy" in metadata and "n_neighbors" in metadata:
                tuned = hyperparameters(metadata)   # flat; numbers arrive as floats when handed over the backend's way
                if task.get("group"):
                    candidates.append({"label": _hyperparameters_text(tuned), "hyperparameters": tuned,
                                       "score": float(metadata["cv_accuracy"]),
                                       "spread": float(metadata.get("cv_accuracy_std") or 0.0), "chosen": False})
                elif "candidates" in metadata:
                    chosen_hp = tuned
    why = None
    for index, candidate in enumerate(candidates):
        if chosen_hp is not None and candidate["hyperparameters"] == chosen_hp:
            candidate["chosen"] = True
            why = why_chosen(candidates, index)
            break
    return candidates, why


def results_of(folder: Path, tasks: list[dict]) -> tuple[dict, dict]:
    """The final metrics (Metrics outputs of the tasks nothing depends on) and the confusion matrix, if any."""
    depended = {d for t in tasks for d in t.get("depends", [])}
    metrics, confusion = {}, {}
    for task in tasks:
        if task.get("group") or task["id"] in depended:
            continue
        for metadata in _outputs(folder, task["id"]).values():
            if "confusionMatrix" in metadata:
                matrix = metadata["confusionMatrix"]
                confusion = {"labels": [s.get("displayName", "") for s in matrix.get("annotationSpecs", [])],
                             "matrix": [[int(v) for v in row.get("row", [])] for row in matrix.get("rows", [])]}
            elif metadata and all(isinstance(v, (int, float)) for v in metadata.values()):
                metrics.update(metadata)
    return metrics, confusion


def artifacts_of(folder: Path, tasks: list[dict]) -> list[dict]:
    """Links (relative to the report, so the folder can move) to every file the tasks wrote, the record and log;
    each named after its task instance (`train-candidate[n_neighbors=7]: model`)."""
    names = {t["id"]: display_name(t) for t in tasks}
    links = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in (EXECUTOR_OUTPUT, REPORT)):
        href = path.relative_to(folder).as_posix()
        owner = href.rsplit("/", 1)[0] if "/" in href else None
        links.append({"label": f"{names[owner]}: {path.name}" if owner in names else href, "href": href})
    log = folder.parent / f"{folder.name}.log"
    if log.is_file():
        links.append({"label": f"the run's whole log ({log.name})", "href": f"../{log.name}"})
    return links


def local_report(run: LocalRun) -> dict:
    """The report data of a recorded local run."""
    record, folder = run.record, run.folder
    tasks = record.get("tasks") or []
    candidates, why = candidates_of(folder, tasks)
    metrics, confusion = results_of(folder, tasks)
    notes = []
    if record.get("state") == "INTERRUPTED":
        notes.append("Stopped with Ctrl-C: the tasks that were running finished (unless Ctrl-C was pressed twice); "
                     "no new task started.")
    return {"name": run.name, "pipeline": record.get("pipeline"), "where": "locally (kfp.local)",
            "state": record["state"], "started": _when(record.get("started")), "duration": record.get("duration"),
            "arguments": record.get("arguments") or {}, "tasks": tasks, "candidates": candidates, "why": why,
            "metrics": metrics, "confusion": confusion, "failure": record.get("failure"),
            "artifacts": artifacts_of(folder, tasks), "notes": notes}


def write_report(run: LocalRun) -> Path:
    path = run.folder / REPORT
    path.write_text(report_html.render(local_report(run)), encoding="utf-8")
    return path


def cluster_report(run: dict, run_url: str, summary: dict | None = None) -> dict:
    """The report data of a KFP run from its API data (`pipelines.cluster_run.get_run`): tasks with states and
    durations (from the Argo workflow's nodes), arguments, the failing tasks' errors, the summary when read."""
    from pipelines.run_view import failed_tasks, run_state, tasks_of

    nodes = ((run.get("workflow") or {}).get("status") or {}).get("nodes") or {}
    shown = tasks_of(run)
    known = {t.task_id for t in shown}
    tasks = []
    for task in shown:
        node = nodes.get(task.task_id) or {}
        name = next((p for p in reversed(task.path) if p != "executor"), task.name)   # KFP's pod is `executor`
        tasks.append({"id": task.task_id, "task": name, "label": None, "group": None,
                      "state": task.state, "duration": _seconds_between(node.get("startedAt"), node.get("finishedAt")),
                      "depends": [task.parent_id] if task.parent_id in known else []})
    failures = failed_tasks(shown)
    arguments = ((run.get("runtime_config") or {}).get("parameters")) or {}
    metrics = {k: v for k, v in (summary or {}).items() if isinstance(v, (int, float))}
    if summary and summary.get("hyperparameters"):
        metrics["chosen"] = _hyperparameters_text(summary["hyperparameters"])
    return {"name": run.get("display_name") or run.get("run_id") or "run", "pipeline": None,
            "where": "on the stack's KFP", "state": run_state(run), "started": _when(run.get("created_at")),
            "duration": _seconds_between(run.get("created_at"), run.get("finished_at")), "arguments": arguments,
            "tasks": tasks, "metrics": metrics,
            "failure": {"task": failures[0].label, "error": failures[0].error or "no error message",
                        "log_tail": []} if failures else None,
            "links": [{"label": "this run in the KFP UI (candidates' scores, metrics, confusion matrix, logs)",
                       "href": run_url}],
            "notes": ["The KFP API returns no artifact metadata, so the candidates' scores are in the KFP UI."]}


def _when(moment) -> str | None:
    """An ISO time as a person reads it: `2026-12-01 21:38:46 UTC`."""
    return str(moment).replace("T", " ").replace("+00:00", " UTC").replace("Z", " UTC")[:23] if moment else None


def _seconds_between(start, end) -> float | None:
    from datetime import datetime

    try:
        begun = start if isinstance(start, datetime) else datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        ended = end if isinstance(end, datetime) else datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    seconds = (ended - begun).total_seconds()
    return seconds if seconds >= 0 and begun.year > 1970 else None

