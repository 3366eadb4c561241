"""The run view as pure functions over the REST shape of a run: labels, changes between polls, where failures are."""
import io

from rich.console import Console

from pipelines.run_view import changes, failed_tasks, run_state, task_tree, tasks_of


def detail(task_id, name, state, parent=None, **extra):
    return {"task_id": task_id, "display_name": name, "state": state, "parent_task_id": parent, **extra}


RUN = {"run_id": "r1", "display_name": "wine", "state": "FAILED", "run_details": {"task_details": [
    # children listed before their parents, as nothing in the API promises an order
    detail("c", "train-candidate", "FAILED", "b", pod_name="pod-c", error={"code": 2, "message": "boom"}),
    detail("b", "iteration-1", "FAILED", "a"),
    detail("a", "tune", "FAILED"),
    detail("d", "load-data", "SUCCEEDED", pod_name="pod-d"),
]}}


def test_tasks_are_labelled_by_their_path():
    assert [t.label for t in tasks_of(RUN)] == ["load-data", "tune", "tune › iteration-1",
                                                 "tune › iteration-1 › train-candidate"]


def test_a_parent_cycle_does_not_hang():
    run = {"run_details": {"task_details": [detail("x", "x", "RUNNING", "y"), detail("y", "y", "RUNNING", "x")]}}
    assert sorted(t.label for t in tasks_of(run)) == ["x › y", "y › x"]


def test_only_new_or_changed_tasks_are_reported():
    tasks = tasks_of(RUN)
    assert changes({}, tasks) == tasks
    previous = {"a": "FAILED", "b": "RUNNING", "c": "FAILED", "d": "SUCCEEDED"}
    assert [t.task_id for t in changes(previous, tasks)] == ["b"]


def test_failures_are_reported_where_the_error_is():
    failed, = failed_tasks(tasks_of(RUN))
    assert failed.label == "tune › iteration-1 › train-candidate"
    assert (failed.pod_name, failed.error) == ("pod-c", "boom")


def test_an_empty_run_is_pending_with_no_tasks():
    assert run_state({}) == "PENDING" and tasks_of({"run_details": None}) == []


def test_tree_nests_children_under_parents_whatever_the_order():
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(task_tree(RUN))
    lines = out.getvalue().splitlines()
    assert lines[0] == "wine FAILED"
    depth = {name: next(line.index(name) for line in lines if f"{name} " in line)
             for name in ("tune", "iteration-1", "train-candidate", "load-data")}
    assert depth["load-data"] == depth["tune"] < depth["iteration-1"] < depth["train-candidate"]
