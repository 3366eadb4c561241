"""Submit a pipeline to the stack's KFP, follow it task by task, and explain a failure without kubectl.

Talks to the `ml-pipeline-ui` service only (it proxies the REST API, serves pod logs), plus MinIO for the result.
"""
from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
import warnings
from typing import Callable
from urllib.parse import quote, urlparse

from rich.console import Console

from infra.readiness.healthz import healthz_problem
from infra.topology import KFP_HEALTHZ_PATH, NAMESPACE
from kfp_laptop.errors import UserError
from pipelines.endpoints import Endpoints
from pipelines.run_view import TERMINAL_STATES, changes, failed_tasks, run_state, styled, tasks_of

POLL_SECONDS = 2.0
FOLLOW_TIMEOUT_SECONDS = 3600
LOG_TAIL_LINES = 25
# (connect, read) seconds for each kfp.Client request: a pair, since kfp_server_api's rest.py (2.17.3) ignores a
# float `_request_timeout`; a hung GET is retried by urllib3's default Retry(3), so one call ends within 4 x read.
CALL_TIMEOUT_SECONDS = (5.0, 30.0)
DOCTOR_FIX = "run `inv doctor` to see what is wrong with the stack (is the cluster running? `inv up` starts it)"


def check_reachable(endpoints: Endpoints, timeout: float = 5.0) -> None:
    """UserError naming the URL when the KFP API does not answer, or answers that its API server is down (instead of
    kfp.Client's 25 s of retries)."""
    url = f"{endpoints.kfp}/{KFP_HEALTHZ_PATH}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            problem = healthz_problem(response.read())
    except urllib.error.HTTPError as err:
        raise UserError(f"the KFP endpoint {endpoints.kfp} answers {url} with HTTP {err.code}",
                        DOCTOR_FIX) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        reason = getattr(err, "reason", err)
        raise UserError(f"the KFP endpoint {endpoints.kfp} does not answer ({reason})", DOCTOR_FIX) from None
    if problem:
        raise UserError(f"the KFP endpoint {endpoints.kfp} answers {url}, but {problem}", DOCTOR_FIX)


def connect(endpoints: Endpoints):
    """A kfp.Client for the stack's KFP, after checking that it answers."""
    import kfp

    check_reachable(endpoints)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # "This client only works with KFP v2.0.0-beta.2 and later"
        client = kfp.Client(host=endpoints.kfp)
    bound_calls(client, CALL_TIMEOUT_SECONDS)
    return client


def bound_calls(client, timeout: tuple[float, float]) -> None:
    """Give every request of `client` a timeout: kfp.Client's wrappers (create_run_from_pipeline_func, get_run,
    list_runs) take no `_request_timeout`, and without one kfp_server_api's RESTClientObject.request waits forever.
    All of the client's service APIs share one ApiClient, hence one rest client (kfp/client/client.py, 2.17.3)."""
    rest = client._run_api.api_client.rest_client
    request = rest.request

    def bounded(*args, _request_timeout=None, **kwargs):
        return request(*args, _request_timeout=_request_timeout or timeout, **kwargs)

    rest.request = bounded


def _api_call(what: str, call: Callable, endpoints: Endpoints):
    """Run one API call; an API refusal becomes a UserError quoting the server's message."""
    import kfp_server_api
    from urllib3.exceptions import HTTPError as ConnectionTrouble
    from urllib3.exceptions import MaxRetryError, NewConnectionError, TimeoutError

    def timed_out(err) -> bool:   # urllib3 2.x makes a refused connection a kind of ConnectTimeoutError
        return isinstance(err, TimeoutError) and not isinstance(err, NewConnectionError)

    try:
        return call()
    except (TimeoutError, MaxRetryError) as err:
        if timed_out(err) or timed_out(getattr(err, "reason", None)):
            raise UserError(f"the KFP endpoint {endpoints.kfp} accepted the connection but did not answer within "
                            f"{CALL_TIMEOUT_SECONDS[1]:.0f} s while trying to {what}", DOCTOR_FIX) from None
        raise UserError(f"the KFP endpoint {endpoints.kfp} stopped answering while trying to {what} ({err})",
                        DOCTOR_FIX) from None
    except ConnectionTrouble as err:
        raise UserError(f"the KFP endpoint {endpoints.kfp} stopped answering while trying to {what} ({err})",
                        DOCTOR_FIX) from None
    except kfp_server_api.ApiException as err:
        try:
            message = json.loads(err.body or "{}").get("message") or err.reason
        except ValueError:
            message = err.body or err.reason
        raise UserError(f"KFP at {endpoints.kfp} refused to {what}: HTTP {err.status}: {message}",
                        DOCTOR_FIX) from None


def submit(client, endpoints: Endpoints, pipeline, arguments: dict, experiment: str) -> str:
    """Compile and submit `pipeline` as a run in `experiment`; returns the run id."""
    result = _api_call("create the run", lambda: client.create_run_from_pipeline_func(
        pipeline, arguments=arguments, experiment_name=experiment, pipeline_root=endpoints.pipeline_root), endpoints)
    return result.run_id


def get_run(client, endpoints: Endpoints, run_id: str) -> dict:
    """The run (v2beta1) with its Argo workflow under `workflow`, where its tasks are (see `pipelines.run_view`)."""
    run = _api_call(f"return run {run_id}", lambda: client.get_run(run_id), endpoints).to_dict()
    return {**run, "workflow": workflow_of(endpoints, run_id)}


def workflow_of(endpoints: Endpoints, run_id: str, timeout: float = 10.0) -> dict:
    """The run's Argo workflow as KFP last stored it ({} before the first report): the v1beta1 run detail's
    `pipeline_runtime.workflow_manifest`, the one place the API gives the task tree, pod names and errors."""
    url = f"{endpoints.kfp}/apis/v1beta1/runs/{quote(run_id, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            detail = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        raise UserError(f"KFP at {endpoints.kfp} refused to return the workflow of run {run_id}: HTTP {err.code}: "
                        f"{err.read().decode('utf-8', errors='replace').strip()}", DOCTOR_FIX) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        raise UserError(f"the KFP endpoint {endpoints.kfp} stopped answering while trying to return the workflow "
                        f"of run {run_id} ({getattr(err, 'reason', err)})", DOCTOR_FIX) from None
    manifest = (detail.get("pipeline_runtime") or {}).get("workflow_manifest") or ""
    return json.loads(manifest) if manifest else {}


def follow(client, endpoints: Endpoints, run_id: str, console: Console, poll_seconds: float | None = None,
           timeout_seconds: float | None = None) -> dict:
    """Poll the run, printing each task (and loop iteration) as its state changes, until the run ends.

    Polls `get_run` rather than `wait_for_run_completion`, which never returns for a CANCELED run.
    """
    try:
        return _follow(client, endpoints, run_id, console, POLL_SECONDS if poll_seconds is None else poll_seconds,
                       FOLLOW_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds)
    except KeyboardInterrupt:
        raise UserError(f"stopped following run {run_id}; it keeps running on the cluster",
                        f"`inv status {run_id}` shows where it is, or open {endpoints.run_url(run_id)}") from None


def _follow(client, endpoints: Endpoints, run_id: str, console: Console, poll_seconds: float,
            timeout_seconds: float) -> dict:
    seen: dict[str, str] = {}
    started = time.monotonic()
    while True:
        run = get_run(client, endpoints, run_id)
        tasks = tasks_of(run)
        for task in changes(seen, tasks):
            console.print(f"  {styled(task.state, 10)} {task.label}", highlight=False)
        seen = {task.task_id: task.state for task in tasks}
        if run_state(run) in TERMINAL_STATES:
            return run
        if time.monotonic() - started > timeout_seconds:
            raise UserError(f"run {run_id} is still {run_state(run)} after {timeout_seconds:.0f} s",
                            f"follow it with `inv status {run_id}` or at {endpoints.run_url(run_id)}")
        time.sleep(poll_seconds)


def pod_log(endpoints: Endpoints, pod_name: str, created_on: str | None = None, timeout: float = 10.0) -> str:
    """A pod's log through the UI server (which also serves archived logs of deleted pods, given `created_on`)."""
    try:
        with urllib.request.urlopen(endpoints.pod_logs_url(pod_name, NAMESPACE, created_on),
                                    timeout=timeout) as response:
            return response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as err:
        return f"(log unavailable: HTTP {err.code}: {err.read().decode('utf-8', errors='replace').strip()})"
    except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
        return f"(log unavailable: {getattr(err, 'reason', err)})"


def task_log(endpoints: Endpoints, run: dict, task: str) -> str | None:
    """The log of `task`'s pod in `run` (as `get_run` returns it), or None when the run has no pod for that task."""
    pods = [t for t in tasks_of(run) if t.pod_name and task in t.path]
    return pod_log(endpoints, pods[-1].pod_name, pods[-1].created_on) if pods else None


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def explain_failure(endpoints: Endpoints, run: dict, console: Console) -> None:
    """Print each failing task's error and log tail, then raise the UserError that ends the command."""
    run_id = run.get("run_id")
    for task in failed_tasks(tasks_of(run)):
        console.print(f"[bold red]failed task:[/] {task.label}", highlight=False)
        if task.error:
            console.print(f"  error: {task.error}", highlight=False)
        if task.pod_name:
            console.print(f"  last lines of pod {task.pod_name}'s log:", highlight=False)
            console.print(tail(pod_log(endpoints, task.pod_name, task.created_on)), highlight=False, markup=False)
    message = ((run.get("error") or {}).get("message") or "").strip()
    raise UserError(f"run {run_id} ended {run_state(run)}" + (f": {message}" if message else ""),
                    f"see {endpoints.run_url(run_id)}; `inv logs {run_id}` prints every task's log")


def read_summary(endpoints: Endpoints, pipeline_name: str, run_id: str, task: str = "evaluate-model",
                 artifact: str = "summary") -> dict | None:
    """The run's JSON result artifact from MinIO, or None if it cannot be found or read (the UI still shows it)."""
    from minio import Minio
    from minio.error import MinioException
    from urllib3.exceptions import HTTPError

    url = urlparse(endpoints.minio)
    bucket, _, root = endpoints.pipeline_root.removeprefix("minio://").partition("/")
    client = Minio(url.netloc, access_key=endpoints.minio_access_key, secret_key=endpoints.minio_secret_key,
                   secure=url.scheme == "https")
    prefix = "/".join(p for p in (root.strip("/"), pipeline_name, run_id) if p) + "/"
    try:
        for item in client.list_objects(bucket, prefix=prefix, recursive=True):
            if f"/{task}/" in item.object_name and item.object_name.endswith(f"/{artifact}"):
                response = client.get_object(bucket, item.object_name)
                try:
                    return json.loads(response.read())
                finally:
                    response.close()
                    response.release_conn()
    except (MinioException, HTTPError, OSError, ValueError):
        return None
    return None
