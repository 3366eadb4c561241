"""The functions `tasks.py` calls: run the pipelines (locally or on the stack), compile them, follow runs, draw the DAG.

Every check on the user's arguments happens before anything runs; problems surface as `UserError`.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console

from kfp_laptop.errors import UserError
from pipelines.arguments import quickstart_arguments, wine_arguments

DEFAULT_EXPERIMENT = "kfp-laptop"
console = Console(soft_wrap=True)   # paths and URLs stay whole, so they can be copied


def _print_wine_summary(summary: dict) -> None:
    console.print(f"[bold]selected hyperparameters:[/] {summary['hyperparameters']}  "
                  f"(cross-validated accuracy {summary['cv_accuracy']:.3f})", highlight=False)
    console.print(f"[bold]test accuracy:[/] {summary['test_accuracy']:.3f}  "
                  f"(macro F1 {summary['test_f1_macro']:.3f})", highlight=False)


def _run_on_cluster(endpoints, pipeline, arguments: dict, experiment: str | None) -> dict:
    """Submit, follow to the end, explain a failure; returns the finished run (as a dict)."""
    from pipelines.cluster_run import connect, explain_failure, follow, submit

    client = connect(endpoints)
    run_id = submit(client, endpoints, pipeline, arguments, experiment or DEFAULT_EXPERIMENT)
    console.print(f"run {run_id} submitted to experiment {experiment or DEFAULT_EXPERIMENT}: "
                  f"{endpoints.run_url(run_id)}", highlight=False)
    run = follow(client, endpoints, run_id, console)
    if run.get("state") != "SUCCEEDED":
        explain_failure(endpoints, run, console)
    return run


def run_wine(local=False, target="auto", neighbors=None, parallelism=None, test_size=None, random_state=None,
             containerized=False, experiment=None, stack=None, verbose=False) -> dict | None:
    """Run the wine tuning pipeline and print the chosen model; returns its summary (None if the cluster's
    result artifact could not be read). `verbose`: a local run shows kfp.local's whole output, not the compact view."""
    from pipelines.run_target import resolve_target

    arguments = wine_arguments(neighbors=neighbors, parallelism=parallelism, test_size=test_size,
                               random_state=random_state)
    endpoints = resolve_target(local, target, stack, console)
    if endpoints is None:
        from pipelines.local_run import run_wine_locally

        if containerized:
            from pipelines.containerized.variant import LOCAL_NOTE

            console.print(LOCAL_NOTE, highlight=False)
        result = run_wine_locally(arguments, verbose=verbose)
        _print_wine_summary(result.summary)
        console.print(f"[bold]artifacts:[/] {result.run_folder}  (best model: {result.model_path})", highlight=False)
        console.print(f"[bold]report:[/] {result.report}", highlight=False)
        return result.summary
    from pipelines.cluster_run import read_summary
    from pipelines.wine.components import components
    from pipelines.wine.pipeline import PIPELINE_NAME, build_wine_pipeline

    if containerized:
        from pipelines.containerized.variant import cluster_pipeline

        pipeline = cluster_pipeline(endpoints.outputs, arguments.parallelism)
    else:
        pipeline = build_wine_pipeline(components(), parallelism=arguments.parallelism)
    run = _run_on_cluster(endpoints, pipeline, arguments.pipeline_arguments(), experiment)
    summary = read_summary(endpoints, PIPELINE_NAME, run["run_id"])
    if summary:
        _print_wine_summary(summary)
    else:
        console.print("the result artifact could not be read from MinIO; the run page shows the metrics")
    console.print(f"[bold]run:[/] {endpoints.run_url(run['run_id'])}  (artifacts under {endpoints.pipeline_root}, "
                  f"browse them at {endpoints.minio_console})", highlight=False)
    return summary


def run_quickstart(local=False, target="auto", a=None, b=None, c=None, experiment=None, stack=None,
                   verbose=False) -> int | None:
    """Run the addition pipeline; returns the sum (None if a cluster run's log holds none).

    `verbose`: a local run streams kfp.local's whole output."""
    from pipelines.run_target import resolve_target

    arguments = quickstart_arguments(a=a, b=b, c=c)
    endpoints = resolve_target(local, target, stack, console)
    if endpoints is None:
        from pipelines.local_run import run_quickstart_locally

        total, report = run_quickstart_locally(arguments, verbose=verbose)
        console.print(f"[bold]sum:[/] {total}  (arguments {arguments}; c defaults to 10)", highlight=False)
        console.print(f"[bold]report:[/] {report}", highlight=False)
        return total
    from pipelines.cluster_run import task_log
    from pipelines.quickstart import RESULT_TASK, logged_sum, quickstart_pipeline

    run = _run_on_cluster(endpoints, quickstart_pipeline, arguments, experiment)
    total = logged_sum(task_log(endpoints, run, RESULT_TASK) or "")
    if total is None:
        console.print(f"the sum could not be read from the {RESULT_TASK} task's log; the run page shows it")
    else:
        console.print(f"[bold]sum:[/] {total}", highlight=False)
    console.print(f"[bold]run succeeded:[/] {endpoints.run_url(run['run_id'])}", highlight=False)
    return total


def compile_all(out: str | Path = "out/pipelines") -> list[Path]:
    """Write the IR YAML of each pipeline into `out`."""
    from kfp import compiler

    from pipelines.quickstart import quickstart_pipeline
    from pipelines.wine.pipeline import wine_pipeline

    folder = Path(out)
    written = []
    for pipeline in (wine_pipeline, quickstart_pipeline):
        path = folder / f"{pipeline.name}.yaml"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            compiler.Compiler().compile(pipeline, str(path))
        except OSError as err:
            raise UserError(f"cannot write {path}: {err.strerror or err}", "pass a folder you can write to, "
                            "e.g. --out out/pipelines") from None
        console.print(f"wrote {path}", highlight=False)
        written.append(path)
    return written


def _stack_client(stack: str | None):
    from laptop.stack import stack_outputs
    from pipelines.cluster_run import connect
    from pipelines.endpoints import Endpoints

    endpoints = Endpoints.from_outputs(stack_outputs(stack))
    return endpoints, connect(endpoints)


def _stack_for_run(run_id: str, stack: str | None):
    """The stack's endpoints and client to look `run_id` up as a KFP run; one message when no stack is up."""
    from laptop.stack import find_outputs
    from pipelines.cluster_run import connect
    from pipelines.endpoints import Endpoints

    outputs = find_outputs(stack)
    if outputs is None:
        raise UserError(f"{run_id!r} is not a local run, and no stack is up to ask for a KFP run of that id",
                        "`inv runs` lists the local runs (`latest` is the newest); `inv up` starts a stack")
    endpoints = Endpoints.from_outputs(outputs)
    return endpoints, connect(endpoints)


def status(run_id: str, stack=None) -> None:
    """Print a run's task tree with states, and the error of each failed task (a local run's from its record)."""
    from pipelines.cluster_run import get_run
    from pipelines.local_commands import is_local, show_status
    from pipelines.local_run import DEFAULT_ROOT
    from pipelines.run_view import failed_tasks, task_tree, tasks_of

    if is_local(DEFAULT_ROOT, run_id):
        show_status(DEFAULT_ROOT, run_id, console)
        return
    endpoints, client = _stack_for_run(run_id, stack)
    run = get_run(client, endpoints, run_id)
    console.print(task_tree(run))
    for task in failed_tasks(tasks_of(run)):
        console.print(f"[bold red]failed:[/] {task.label}: {task.error or 'no error message'}", highlight=False)
    console.print(f"[bold]run:[/] {endpoints.run_url(run_id)}", highlight=False)


def logs(run_id: str, task=None, stack=None) -> None:
    """Print the logs of the run's task pods (only those of `task`, matched by name, if given); a local run's from
    its log file."""
    from pipelines.cluster_run import get_run, pod_log
    from pipelines.local_commands import is_local, show_logs
    from pipelines.local_run import DEFAULT_ROOT
    from pipelines.run_view import tasks_of

    if is_local(DEFAULT_ROOT, run_id):
        show_logs(DEFAULT_ROOT, run_id, task, console)
        return
    endpoints, client = _stack_for_run(run_id, stack)
    with_pods = [t for t in tasks_of(get_run(client, endpoints, run_id)) if t.pod_name]
    # A task matches by any name on its path, so `--task train-candidate` also finds pods nested under that task.
    chosen = [t for t in with_pods if task is None or task in t.path or task == t.label]
    if not chosen:
        names = ", ".join(sorted({name for t in with_pods for name in t.path})) or "none yet"
        raise UserError(f"run {run_id} has no task {task!r} with a pod" if task else f"run {run_id} has no pods yet",
                        f"tasks with logs: {names}")
    for item in chosen:
        console.rule(f"{item.label} ({item.state}, pod {item.pod_name})")
        console.print(pod_log(endpoints, item.pod_name, item.created_on), highlight=False, markup=False)


def runs(stack=None) -> None:
    """List the local runs (newest first), then the stack's runs when a stack is up."""
    from laptop.stack import find_outputs
    from pipelines.local_commands import show_runs
    from pipelines.local_run import DEFAULT_ROOT

    show_runs(DEFAULT_ROOT, console)
    outputs = find_outputs(stack)
    if outputs is None:
        console.print("no stack is up, so there are no cluster runs to list (`inv up` creates one)")
        return
    from pipelines.cluster_run import _api_call, connect
    from pipelines.endpoints import Endpoints

    endpoints = Endpoints.from_outputs(outputs)
    client = connect(endpoints)
    listed = _api_call("list the runs", lambda: client.list_runs(page_size=20, sort_by="created_at desc"), endpoints)
    console.print(f"[bold]runs on the stack's KFP[/] ({endpoints.kfp}), newest first:", highlight=False)
    for run in (r.to_dict() for r in (listed.runs or [])):
        console.print(f"  {run['run_id']}  {run.get('state') or ''}  {run.get('created_at') or ''}  "
                      f"{run.get('display_name') or ''}", highlight=False)


def report(run_id: str = "latest", open_it: bool = False, stack=None) -> Path:
    """(Re)write a run's report.html and print its path; `open_it` opens it in the system's browser. A KFP run's
    report is built from the API's data and written under local_outputs/cluster/."""
    from pipelines.local_commands import is_local, make_report, open_in_browser
    from pipelines.local_run import DEFAULT_ROOT

    if is_local(DEFAULT_ROOT, run_id):
        return make_report(DEFAULT_ROOT, run_id, console, open_it)
    from pipelines import report_html
    from pipelines.cluster_run import get_run, read_summary
    from pipelines.run_report import cluster_report

    endpoints, client = _stack_for_run(run_id, stack)
    run = get_run(client, endpoints, run_id)
    summary = read_summary(endpoints, (run.get("pipeline_spec") or {}).get("pipelineInfo", {}).get("name") or "",
                           run_id) if run.get("state") == "SUCCEEDED" else None
    path = DEFAULT_ROOT / "cluster" / run_id / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_html.render(cluster_report(run, endpoints.run_url(run_id), summary)), encoding="utf-8")
    console.print(f"[bold]report:[/] {path}", highlight=False)
    if open_it:
        open_in_browser(path, console)
    return path


def clean(keep=None, failed=False) -> int:
    """Delete old local runs (the newest `keep` stay), or with `failed` only failed and interrupted ones."""
    from pipelines.arguments import _number
    from pipelines.local_commands import clean as run_clean
    from pipelines.local_run import DEFAULT_ROOT

    return run_clean(DEFAULT_ROOT, None if keep is None else _number("keep", keep, int, "3"), failed, console)


def dag(readme: bool = False) -> str:
    """Print the wine DAG as Mermaid from the compiled IR; with `readme`, also write it into README.md."""
    from pipelines.dag import (
        README,
        mermaid_from_ir,
        readme_block,
        wine_ir,
        write_into_readme,
    )

    mermaid = mermaid_from_ir(wine_ir())
    print(readme_block(mermaid) if readme else mermaid)
    if readme:
        write_into_readme(mermaid)
        console.print(f"wrote the DAG into {README}", highlight=False)
    return mermaid
