"""invoke tasks: thin wrappers; each calls one function in the packages (which also work without invoke).

Imports happen inside each task so that `inv --list` is instant and one area's dependency never breaks another's task.
"""
import functools

from invoke import task as invoke_task

from kfp_laptop.errors import exit_on_user_error
from laptop.cli_hints import HelpfulTask, install

install()   # a misspelled flag or task name gets the right one suggested
task = functools.partial(invoke_task, klass=HelpfulTask)   # --help shows each option's type and default


@task(help={"stack": "stack name (default: <user>-<host>)", "yes": "skip the preview confirmation"})
@exit_on_user_error
def up(c, stack=None, yes=False):
    """Create or update this laptop's stack: cluster, registry, KFP, MinIO, watchdog."""
    from laptop.stack import up as run_up

    run_up(stack=stack, yes=yes)


@task(help={"stack": "stack name (default: <user>-<host>)",
            "purge": "also delete dataDir (run history, artifacts, images)",
            "yes": "skip the confirmation"})
@exit_on_user_error
def down(c, stack=None, purge=False, yes=False):
    """Destroy this laptop's stack (`--purge` also deletes its persistent data)."""
    from laptop.stack import down as run_down

    run_down(stack=stack, purge=purge, yes=yes)


@task(help={"local": "force the embedded local runner (kfp.local)",
            "target": "auto (cluster when a stack is up, else local), local or cluster",
            "neighbors": "comma-separated n_neighbors candidates, e.g. 3,5,7 (default 1,3,5,7,9,11,15)",
            "parallelism": "how many candidates are tuned at once (default 3)",
            "test_size": "held-out fraction, between 0 and 1 (default 0.25)",
            "random_state": "seed for the split (default 42)",
            "containerized": "use the containerized components from the stack's registry (see inv build-components)",
            "experiment": "KFP experiment name (default kfp-laptop)", "stack": "stack name (default: <user>-<host>)",
            "verbose": "a local run shows kfp.local's whole output instead of the compact progress view"})
@exit_on_user_error
def run_wine(c, local=False, target="auto", neighbors: str = None, parallelism: int = None, test_size: float = None,
             random_state: int = None, containerized=False, experiment=None, stack=None, verbose=False):
    """Run the wine tuning pipeline, wait, and print the chosen model."""
    from pipelines.cli import run_wine as run

    run(local=local, target=target, neighbors=neighbors, parallelism=parallelism, test_size=test_size,
        random_state=random_state, containerized=containerized, experiment=experiment, stack=stack, verbose=verbose)


@task(help={"local": "force the embedded local runner (kfp.local)", "target": "auto, local or cluster",
            "a": "first addend (default 1)", "b": "second addend (default 2)",
            "c": "optional third addend (default: the pipeline's own, 10)",
            "experiment": "KFP experiment name", "stack": "stack name (default: <user>-<host>)",
            "verbose": "a local run shows kfp.local's whole output instead of the compact progress view"})
@exit_on_user_error
def run_quickstart(ctx, local=False, target="auto", a: int = None, b: int = None, c: int = None, experiment=None,
                   stack=None, verbose=False):
    """Run the addition quickstart pipeline."""
    from pipelines.cli import run_quickstart as run

    run(local=local, target=target, a=a, b=b, c=c, experiment=experiment, stack=stack, verbose=verbose)


@task(name="compile", help={"out": "folder for the IR YAML files"})
@exit_on_user_error
def compile_(c, out="out/pipelines"):
    """Compile every pipeline to KFP IR YAML."""
    from pipelines.cli import compile_all

    compile_all(out)


@task(help={"run_id": "a local run's name, `latest` (the newest local run) or a KFP run id",
            "stack": "stack name, for a KFP run (default: <user>-<host>)"})
@exit_on_user_error
def status(c, run_id, stack=None):
    """Print a run's tasks with their states (a local run's need no stack)."""
    from pipelines.cli import status as show

    show(run_id, stack=stack)


@task(help={"run_id": "a local run's name, `latest` (the newest local run) or a KFP run id",
            "task": "only this task's logs, e.g. select-best or train-candidate[n_neighbors=7]",
            "stack": "stack name, for a KFP run (default: <user>-<host>)"})
@exit_on_user_error
def logs(c, run_id, task=None, stack=None):
    """Print the logs of a run's tasks (a local run's from its log file; a KFP run's through its UI server)."""
    from pipelines.cli import logs as show

    show(run_id, task=task, stack=stack)


@task(help={"stack": "stack name (default: <user>-<host>)"})
@exit_on_user_error
def runs(c, stack=None):
    """List the local runs, newest first, with state, start, duration and result (and the stack's runs if it is up)."""
    from pipelines.cli import runs as show

    show(stack=stack)


@task(name="report", positional=["run_id"],
      help={"run_id": "a local run's name, `latest` (the default) or a KFP run id",
            "open": "also open it in the system's browser", "stack": "stack name, for a KFP run"})
@exit_on_user_error
def report_(c, run_id="latest", open=False, stack=None):
    """Write a run's self-contained HTML report (DAG, candidates, metrics, confusion matrix) and print its path."""
    from pipelines.cli import report as write

    write(run_id, open_it=open, stack=stack)


@task(help={"keep": "how many of the newest runs to keep (default 5; 0 with --failed)",
            "failed": "delete only failed and interrupted runs"})
@exit_on_user_error
def clean(c, keep: int = None, failed=False):
    """Delete old local runs (their folders and logs under local_outputs/) and say how much space that freed."""
    from pipelines.cli import clean as run_clean

    run_clean(keep=keep, failed=failed)


@task(help={"readme": "write the diagram into README.md between its markers"})
@exit_on_user_error
def dag(c, readme=False):
    """Print the wine pipeline's DAG as Mermaid, generated from the compiled IR."""
    from pipelines.cli import dag as show

    show(readme=readme)


@task(help={"stack": "stack name (default: <user>-<host>)"})
@exit_on_user_error
def doctor(c, stack=None):
    """Check the machine (before up) and the stack (after up); print the fix for each problem."""
    from laptop.doctor import main as run

    run(stack=stack)


MANIFESTS_HELP = ("a folder of upstream KFP manifests rendered elsewhere: works fully offline (default: render "
                  "upstream's, which needs the network once per KFP version, then cached in ~/.cache/kfp-laptop)")


@task(help={"out": "folder for the rendered YAML", "arch": "amd64 or arm64 (default: the host's)",
            "kfp_manifests": MANIFESTS_HELP, "kfp_version": "KFP backend release (default: 2.17.0)"})
@exit_on_user_error
def render(c, out="out/render", arch=None, kfp_manifests=None, kfp_version=None):
    """Write every Kubernetes object the stack would apply, as plain YAML (the first use of a KFP version needs the
    network once, unless --kfp-manifests)."""
    from infra.render import render_to

    render_to(out, arch=arch, kfp_manifests=kfp_manifests, kfp_version=kfp_version)


@task(help={"arch": "amd64 or arm64 (default: the host's)", "kfp_manifests": MANIFESTS_HELP,
            "kfp_version": "KFP backend release (default: 2.17.0)"})
@exit_on_user_error
def image_plan(c, arch=None, kfp_manifests=None, kfp_version=None):
    """Show, for every image, whether it runs natively, is substituted, or needs emulation on this arch (the first use
    of a KFP version needs the network once, unless --kfp-manifests)."""
    from infra.render import print_image_plan

    print_image_plan(arch=arch, kfp_manifests=kfp_manifests, kfp_version=kfp_version)


@task(help={"stack": "stack name (default: <user>-<host>)"})
@exit_on_user_error
def build_components(c, stack=None):
    """Build the containerized components for the stack's arch and push them to its registry."""
    from pipelines.containerized.build import build_and_push

    build_and_push(stack=stack)


@task(help={"stack": "stack name (default: <user>-<host>)"})
@exit_on_user_error
def port_forward(c, stack=None):
    """For engine=existing: forward the KFP UI/API and MinIO to the configured 127.0.0.1 ports."""
    from laptop.stack import port_forward as run

    run(stack=stack)


@task(help={"piece": "build only this piece: etcd, kwok, kube, pulumi, python-plugins or kubernetes-provider"})
def toolchain(c, piece=None):
    """Build the engine tier's toolchain (Pulumi CLI and plugins, Kubernetes 1.33, KWOK) once, into a cache."""
    from tests.engine.toolchain import BuildError, build

    try:
        build([piece] if piece else None)
    except BuildError as err:
        raise SystemExit(str(err)) from None


@task(help={"k": "only tests matching this expression (default: all)",
            "e2e": "include the end-to-end tests (needs Docker, kind, pulumi)",
            "workers": "test processes side by side (default: one more than the cores, at most 8; 0: one process)"})
@exit_on_user_error
def test(c, k=None, e2e=False, workers=None):
    """Run the whole test suite (installs the infra, cluster and dev extras first if needed)."""
    import os
    import shlex

    from laptop.extras import require
    from laptop.suite import pytest_command, suite_environment

    command = pytest_command(k, workers, e2e)
    require("infra", "cluster", "dev")
    c.run(shlex.join(command), env=suite_environment({**os.environ, **({"KFP_LAPTOP_E2E": "1"} if e2e else {})}))
