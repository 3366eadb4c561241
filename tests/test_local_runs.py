"""Local runs you can look at and come back to: the report, the record, and `inv runs/status/logs/report/clean`, on
the suite's real wine run (shared, `wine_run`) and a real run that fails its data validation (`failed_wine_run`)."""
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kfp_laptop.errors import UserError
from pipelines import cli, report_html
from pipelines.run_history import instances, local_runs, to_clean
from pipelines.run_report import why_chosen
from pipelines.wine.logic import hyperparameters, pick_best
from tests.support.runs import in_folder


def run_folder(output: str) -> Path:
    return Path(output.split("artifacts:")[1].split()[0])


class Page(HTMLParser):
    """What a browser would fetch for a page: every src/href/xlink target, and whether it has a script."""

    def __init__(self):
        super().__init__()
        self.fetched, self.links, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.scripts += tag == "script"
        self.fetched += [values[k] for k in ("src", "srcset", "data") if k in values]
        if tag == "link":
            self.fetched.append(values.get("href"))
        elif "href" in values:
            self.links.append(values["href"])


def parsed(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


# -- the report of a real run --

def test_the_report_of_a_real_wine_run_holds_the_dag_candidates_metrics_and_confusion_matrix(wine_run):
    summary, output, _ = wine_run
    folder = run_folder(output)
    html = (folder / "report.html").read_text()
    assert output.rstrip().splitlines()[-1] == f"report: {folder / 'report.html'}"   # the last printed line
    for task in ("load-data", "validate-data", "split-data", "select-best", "evaluate-model"):
        assert f"{task}</text>" in html, task
    assert html.count("train-candidate</text>") == html.count("score-candidate</text>") == 2   # both iterations
    assert "n_neighbors=5 · " in html and "n_neighbors=9 · " in html                        # named by value
    for iteration in (0, 1):
        scored = json.loads((folder / f"for-loop-1-iteration-{iteration}/score-candidate/executor_output.json")
                            .read_text())["artifacts"]["scored"]["artifacts"][0]["metadata"]
        k = hyperparameters(scored)["n_neighbors"]
        assert re.search(rf"<td>n_neighbors={k}</td><td class=\"num\">{scored['cv_accuracy']:.4f}</td>"
                         rf"<td class=\"num\">{scored['cv_accuracy_std']:.4f}</td>", html)
    chosen = summary["hyperparameters"]["n_neighbors"]
    assert f"<tr class=chosen><td>n_neighbors={chosen}</td>" in html
    assert f"n_neighbors={chosen} has the highest mean" in html or f"n_neighbors={chosen} ties with" in html
    assert f"{summary['test_accuracy']:.4f}".rstrip("0") in html and "f1_macro" in html
    assert 'aria-label="confusion matrix"' in html and html.count("<rect") > 20
    confusion = json.loads((folder / "evaluate-model/executor_output.json").read_text())[
        "artifacts"]["confusion"]["artifacts"][0]["metadata"]["confusionMatrix"]
    counts = [n for row in confusion["rows"] for n in row["row"]]
    assert [int(n) for n in re.findall(r'fill="#(?:fff|202124)">(\d+)</text>', html)] == counts
    assert "SUCCEEDED" in html and "neighbors</td><td>5, 9</td>" in html


def test_the_report_opens_from_disk_without_the_network(wine_run):
    """Nothing to fetch (no script, image, stylesheet or font), and every artifact link points into the run."""
    folder = run_folder(wine_run[1])
    page = parsed((folder / "report.html").read_text())
    assert page.scripts == 0 and page.fetched == []
    assert page.links and all((folder / link).resolve().is_file() for link in page.links)
    assert any(link.endswith("select-best/best") for link in page.links)


def test_the_record_holds_arguments_state_times_and_result(wine_run):
    summary, output, _ = wine_run
    record = json.loads((run_folder(output) / "run.json").read_text())
    assert record["state"] == "SUCCEEDED" and record["result"] == summary
    assert record["arguments"] == {"neighbors": [5, 9], "test_size": 0.25, "random_state": 42}
    assert record["started"].endswith("+00:00") and record["duration"] > 0
    assert {t["state"] for t in record["tasks"]} == {"SUCCEEDED"} and len(record["tasks"]) == 9
    assert all(t["duration"] >= 0 for t in record["tasks"])


# -- a failed run --

def test_a_failed_run_names_the_failing_task_and_its_report_shows_the_error_and_what_did_not_run(failed_wine_run):
    error, output, folder = failed_wine_run
    assert error.problem == "the local run failed: task validate-data failed"
    run = local_runs(folder / "local_outputs")[0]
    assert run.record["state"] == "FAILED" and str(run.folder / "report.html") in error.fix
    states = {t["id"]: t["state"] for t in run.record["tasks"]}
    assert states["load-data"] == "SUCCEEDED" and states["validate-data"] == "FAILED"
    assert states["select-best"] == states["for-loop-1-iteration-0/train-candidate"] == "NOT RUN"
    html = (run.folder / "report.html").read_text()
    assert "What went wrong" in html and "the wine data failed validation" in html
    assert "class 0 is 33.1% of rows, below 50.0%" in html    # the log tail up to the failure
    assert "FAILED" in html and "✕ " in html


def test_status_of_a_failed_run_shows_the_exception_line(failed_wine_run):
    _, _, folder = failed_wine_run
    shown = in_folder(cli.status, folder, run_id="latest")
    assert re.search(r"validate-data +FAILED", shown)
    assert "failed: validate-data: ValueError: the wine data failed validation" in shown


# -- the commands, with no stack --

def test_runs_lists_local_runs_and_says_in_one_line_that_no_stack_is_up(wine_run):
    summary, output, folder = wine_run
    shown = in_folder(cli.runs, folder)
    name = run_folder(output).name
    assert re.search(rf"{name} +SUCCEEDED +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d +[\d.]+ s +n_neighbors="
                     rf"{summary['hyperparameters']['n_neighbors']}: test accuracy", shown)
    assert shown.rstrip().splitlines()[-1] == ("no stack is up, so there are no cluster runs to list "
                                               "(`inv up` creates one)")


def test_status_latest_works_without_a_stack(wine_run):
    _, output, folder = wine_run
    shown = in_folder(cli.status, folder, run_id="latest")
    assert f"{run_folder(output).name} SUCCEEDED" in shown
    assert re.search(r"train-candidate\[n_neighbors=9\] +SUCCEEDED +[\d.]+ s", shown)
    assert "Pulumi" not in shown


def test_logs_latest_of_one_task(wine_run):
    _, output, folder = wine_run
    shown = in_folder(cli.logs, folder, run_id="latest", task="select-best")
    assert "select-best (SUCCEEDED)" in shown and "Looking for component `select_best`" in shown
    assert "`evaluate_model`" not in shown and "`train_candidate`" not in shown
    iteration = in_folder(cli.logs, folder, run_id="latest", task="train-candidate[n_neighbors=9]")
    # Two iterations run at once and kfp.local interleaves their lines in the run's log; a warm run keeps each task's
    # own output beside its outputs (task.log), so the section is that iteration's, whole and alone.
    assert '"n_neighbors": 9' in iteration and iteration.count("Looking for component `train_candidate`") == 1
    assert not re.search(r'"n_neighbors": (?!9\b)\d+', iteration), iteration


def test_logs_of_a_task_the_run_does_not_have_lists_the_tasks(wine_run):
    with pytest.raises(UserError) as caught:
        in_folder(cli.logs, wine_run[2], run_id="latest", task="select")
    assert "has no task 'select'" in caught.value.problem and "select-best" in caught.value.fix


def test_report_regenerates_the_same_page(wine_run):
    _, output, folder = wine_run
    page = run_folder(output) / "report.html"
    before = page.read_text()
    shown = in_folder(cli.report, folder, run_id=run_folder(output).name)
    assert shown.strip() == f"report: {Path('local_outputs') / run_folder(output).name / 'report.html'}"
    assert page.read_text() == before


def test_an_unknown_run_name_without_a_stack_is_one_message(tmp_path):
    with pytest.raises(UserError) as caught:
        in_folder(cli.status, tmp_path, run_id="latest")
    assert "no local runs" in caught.value.problem and "inv run-wine --local" in caught.value.fix


def test_clean_keep_1_deletes_older_real_runs_and_says_what_it_freed(wine_run, failed_wine_run, tmp_path):
    """On copies of the two real runs (the shared ones stay for the other tests), plus a folder that is not a run."""
    root = tmp_path / "local_outputs"
    for folder in (run_folder(wine_run[1]), local_runs(failed_wine_run[2] / "local_outputs")[0].folder):
        shutil.copytree(folder, root / folder.name)
        shutil.copy(folder.parent / f"{folder.name}.log", root)
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("not a run")
    newest, older = local_runs(root)
    shown = in_folder(cli.clean, tmp_path, keep="1")
    assert re.fullmatch(rf"deleted 1 local run \({older.name}\); freed [\d.]+ (KB|MB)\n", shown)
    assert [r.name for r in local_runs(root)] == [newest.name]
    assert not (root / f"{older.name}.log").exists() and (root / "mine" / "notes.txt").is_file()


# -- pure parts --

candidate = st.fixed_dictionaries({"cv_accuracy": st.sampled_from([0.9, 0.95, 0.97]),
                                   "cv_accuracy_std": st.sampled_from([0.01, 0.02]),
                                   "n_neighbors": st.integers(1, 30)})   # flat, as the tasks write it


@settings(deadline=None)   # 2 shared cores: a slow example is not a failure
@given(st.lists(candidate, min_size=1, max_size=8, unique_by=lambda c: c["n_neighbors"]))
def test_why_names_the_rule_that_decided(candidates):
    """Whatever the scores, the explanation names pick_best's winner and the criterion that separated it."""
    best = pick_best(candidates)
    shown = [{"label": f"n_neighbors={c['n_neighbors']}", "score": c["cv_accuracy"],
              "spread": c["cv_accuracy_std"]} for c in candidates]
    why = why_chosen(shown, best)
    assert why.startswith(shown[best]["label"] + " ")
    same_mean = [c for c in candidates if c["cv_accuracy"] == candidates[best]["cv_accuracy"]]
    same_spread = [c for c in same_mean if c["cv_accuracy_std"] == candidates[best]["cv_accuracy_std"]]
    if len(same_mean) == 1:
        assert "highest mean" in why
    elif len(same_spread) == 1:
        assert "steadier" in why
    else:
        assert "smaller n_neighbors wins" in why


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)


@settings(deadline=None)
@given(st.lists(names, min_size=1, max_size=6, unique=True), st.sampled_from(["SUCCEEDED", "FAILED", "INTERRUPTED"]),
       names)
def test_any_run_data_renders_escaped_and_self_contained(tasks, state, argument):
    data = {"name": argument, "state": state, "arguments": {argument: "<marquee>&"},
            "tasks": [{"id": t, "task": t, "state": state, "duration": 1.5,
                       "depends": [tasks[i - 1]] if i else []} for i, t in enumerate(tasks)],
            "candidates": [{"label": argument, "score": 0.9, "spread": 0.01, "chosen": True}],
            "failure": {"task": argument, "error": "<script>", "log_tail": ["</pre><img src=x>"]}}
    html = report_html.render(data)
    page = parsed(html)
    assert page.scripts == 0 and page.fetched == []
    assert "<marquee>" not in html and "&lt;marquee&gt;&amp;" in html
    from html import escape
    for task in tasks:
        assert f"{escape(task)}</text>" in html


def test_instances_time_each_task_and_mark_what_never_ran():
    from pipelines.local_progress import TaskEvent
    nodes = [{"id": "a", "task": "a", "label": None, "group": None, "depends": []},
             {"id": "loop-iteration-0/b", "task": "b", "label": "k=3", "group": "g", "depends": ["a"]},
             {"id": "loop-iteration-1/b", "task": "b", "label": "k=5", "group": "g", "depends": ["a"]}]
    events = [(10.0, TaskEvent("executing", "a")), (10.5, TaskEvent("started", "a", "r/a")),
              (12.0, TaskEvent("succeeded", "a", "r/a")), (13.0, TaskEvent("executing", "b")),
              (13.2, TaskEvent("started", "b", "r/loop-iteration-0/b"))]
    found = {t["id"]: t for t in instances(nodes, events, "r", 9.0, 20.0, "INTERRUPTED")}
    assert (found["a"]["state"], found["a"]["started"], found["a"]["duration"]) == ("SUCCEEDED", 1.0, 2.0)
    assert (found["loop-iteration-0/b"]["state"], found["loop-iteration-0/b"]["duration"]) == ("INTERRUPTED", 7.0)
    assert found["loop-iteration-1/b"]["state"] == "NOT RUN"


def test_clean_considers_only_failed_runs_with_failed():
    from pipelines.run_history import LocalRun
    runs = [LocalRun(Path(str(i)), {"state": s}) for i, s in enumerate(["FAILED", "SUCCEEDED", "INTERRUPTED"])]
    assert [r.folder.name for r in to_clean(runs, 0, True)] == ["0", "2"]
    assert [r.folder.name for r in to_clean(runs, 1, False)] == ["1", "2"]


def test_a_cluster_runs_report_comes_from_its_api_data_and_links_the_kfp_ui():
    """The run as the KFP API returns it, with the Argo workflow KFP stored (the stand-in of test_pipelines_run_view:
    this machine runs no KFP backend)."""
    from pipelines.run_report import cluster_report
    from tests.support.argo import run_v2, wine_workflow

    workflow = wine_workflow(("Succeeded", "Failed"), "Error (exit code 1)").manifest()
    run = {**run_v2("r1", "FAILED", workflow), "workflow": workflow}
    url = "http://127.0.0.1:8080/#/runs/details/r1"
    data = cluster_report(run, url, None)
    html = report_html.render(data)
    assert data["state"] == "FAILED" and data["failure"]["error"] == "Error (exit code 1)"
    assert "What went wrong" in html and "Error (exit code 1)" in html and f'href="{url}"' in html
    assert {t["state"] for t in data["tasks"]} >= {"SUCCEEDED", "FAILED"} and "executor</text>" not in html
    assert parsed(html).fetched == [] and parsed(html).scripts == 0


def test_a_run_leaves_print_as_it_found_it_though_two_iterations_swapped_it_at_once():
    """kfp.local's own `indented_print`, entered and left as two loop iterations running in threads can: the first
    to start ends first. That leaves `builtins.print` indented for good; the run puts it back."""
    import builtins

    from kfp.local.logging_utils import indented_print

    from pipelines.local_run import print_kept

    mine = builtins.print
    with print_kept():
        first, second = indented_print(), indented_print()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        second.__exit__(None, None, None)
        assert builtins.print is not mine, "kfp.local alone leaves it indented"
    assert builtins.print is mine
