"""The run view as pure functions over what KFP 2.17 returns for a run: labels, changes between polls, failures,
pods."""
import io

from rich.console import Console

from pipelines.run_view import changes, failed_tasks, pod_name, run_state, task_tree, tasks_of
from tests.support.argo import run_v2, wine_workflow


def failed_run():
    workflow = wine_workflow(("Succeeded", "Failed"), "Error (exit code 1)").manifest()
    return {**run_v2("r1", "FAILED", workflow), "workflow": workflow}


TRAIN_1 = "root › for-loop-1 › iteration-iterations(1:1) › iteration-item › train-candidate › executor"


def test_the_pod_name_is_argos_v2_name():
    """The vector is argo-workflows v4.0.5 cmd/argo/commands/common/get_test.go: node id and pod name share the
    FNV-1a hash of the node's name."""
    workflow = {"metadata": {"name": "many-items-z26lj"}}
    node = {"id": "many-items-z26lj-2619926859", "name": "many-items-z26lj[0].sleep(9:nine)", "templateName": "sleep"}
    assert pod_name(workflow, node) == "many-items-z26lj-sleep-2619926859"
    v1 = {"metadata": {"name": "many-items-z26lj", "annotations": {"workflows.argoproj.io/pod-name-format": "v1"}}}
    assert pod_name(v1, node) == "many-items-z26lj-2619926859"


def test_v2beta1_task_details_alone_give_no_tasks():
    """KFP 2.17's task_details lack pod names, parents and errors: the view needs the workflow."""
    run = failed_run()
    assert run["run_details"]["task_details"] and tasks_of({k: v for k, v in run.items() if k != "workflow"}) == []


def test_tasks_are_labelled_by_their_path_without_argo_and_kfp_plumbing():
    labels = [t.label for t in tasks_of(failed_run())]
    assert TRAIN_1 in labels and "root › load-data › executor" in labels and "root" in labels
    assert not any("driver" in label or "(0)" in label or "wine-tuning-x7k2p" in label for label in labels)
    assert labels.count("root › for-loop-1 › iteration-iterations(0:0)") == 1       # the TaskGroup is not shown


def test_a_failed_driver_is_shown():
    workflow = wine_workflow()
    root = next(i for i, n in workflow.nodes.items() if n["displayName"] == "root(0)")
    workflow.dag(root, "broken", "comp-broken", phase="Omitted", driver_phase="Failed")
    labels = {t.label: t.state for t in tasks_of({"workflow": workflow.manifest()})}
    assert labels["root › broken-driver"] == "FAILED" and labels["root › broken"] == "SKIPPED"


def test_a_retried_attempt_is_named_after_its_task():
    workflow = wine_workflow()
    retry = next(n for n in workflow.nodes.values() if n["type"] == "Retry" and n["displayName"] == "executor"
                 and n["name"].endswith("load-data(0).executor"))
    second = workflow._add(retry["name"] + "(1)", "Pod", "system-container-impl", "Succeeded", retry["boundaryID"])
    retry["children"].append(second)
    labels = [t.label for t in tasks_of({"workflow": workflow.manifest()})]
    assert "root › load-data › executor" in labels and "root › load-data › executor (retry 1)" in labels


def test_only_new_or_changed_tasks_are_reported():
    tasks = tasks_of(failed_run())
    assert changes({}, tasks) == tasks
    previous = {t.task_id: t.state for t in tasks}
    train_1 = next(t for t in tasks if t.label == TRAIN_1)
    previous[train_1.task_id] = "RUNNING"
    assert changes(previous, tasks) == [train_1]


def test_failures_are_reported_where_the_error_is():
    failed, = failed_tasks(tasks_of(failed_run()))
    assert failed.label == TRAIN_1
    assert (failed.pod_name, failed.error) == ("wine-tuning-x7k2p-system-container-impl-3621781959",
                                               "Error (exit code 1)")
    assert failed.created_on == "2026-11-29"


def test_an_empty_run_is_pending_with_no_tasks():
    assert run_state({}) == "PENDING" and tasks_of({"run_details": None}) == [] and tasks_of({"workflow": {}}) == []


def test_a_boundary_cycle_does_not_hang():
    nodes = {"x": {"displayName": "x", "type": "DAG", "phase": "Running", "boundaryID": "y"},
             "y": {"displayName": "y", "type": "DAG", "phase": "Running", "boundaryID": "x"}}
    assert sorted(t.label for t in tasks_of({"workflow": {"status": {"nodes": nodes}}})) == ["x › y", "y › x"]


def test_tree_nests_children_under_parents():
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(task_tree(failed_run()))
    lines = out.getvalue().splitlines()
    assert lines[0] == "wine-tuning 2026-11-29 FAILED"
    depth = {name: next(line.index(name) for line in lines if f"── {name} " in line)
             for name in ("root", "for-loop-1", "iteration-iterations(1:1)", "load-data")}
    assert depth["root"] < depth["for-loop-1"] == depth["load-data"] < depth["iteration-iterations(1:1)"]
