"""Property tests over what reaches the host side from outside: the stack's outputs, the watchdog's status record (as
edited by hand) and the tasks' command-line arguments. Each is one UserError (or one finding, for doctor) naming the
field, or a value every consumer can use; each test fails on a traceback, an accepted bad value, or a run past its
deadline."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from infra.render import render_config
from kfp_laptop.errors import UserError
from laptop.checks import FAIL, OK, WARN
from laptop.doctor_cluster import endpoints, watchdog_check
from laptop.outputs import HOST_URL_OUTPUTS, OUTPUT_NAMES, StackOutputs
from laptop.port_forward import port_forward_commands
from pipelines.arguments import quickstart_arguments, wine_arguments
from pipelines.containerized.image_target import Target
from pipelines.endpoints import Endpoints
from pipelines.run_target import resolve_target
from tests.support.outputs import FIXTURE_OUTPUTS

FIXTURE = FIXTURE_OUTPUTS
PROPERTY = settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
NOW = 1_800_000_000.0

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text | st.lists(st.integers(), max_size=2)
urls = st.sampled_from(["http://127.0.0.1", "http://127.0.0.1:", "http://127.0.0.1:abc", "http://127.0.0.1:99999",
                        "http://127.0.0.1:0", "127.0.0.1:8080", "ftp://127.0.0.1:21", "http://:8080",
                        "http://127.0.0.1:8080/", "https://[::1]:8443", "http://127.0.0.1:８０８０",
                        "http://127.0.0.1:8080?x=1", "http://127.0.0.1:8080\n"])
registries = st.sampled_from(["localhost", "localhost:", "localhost:50O1", "localhost:5001", ":5001",
                              "localhost:70000", "a/b:1", "localhost:٥٠٠١", "127.0.0.1:5001"])
clusters = st.fixed_dictionaries({}, optional={"engine": st.sampled_from(["kind", "k3d", "existing", "minikube"])
                                               | scalars, "name": scalars | st.just("kfp"),
                                               "context": scalars | st.just("kind-kfp"),
                                               "arch": st.sampled_from(["amd64", "arm64", "riscv64"]) | scalars})
CHANGES = {name: scalars for name in OUTPUT_NAMES}
CHANGES.update({name: urls | scalars for name in HOST_URL_OUTPUTS})
CHANGES.update(registry=registries | scalars, cluster=clusters | scalars,
               kfp_version=st.sampled_from(["2.17.0", "2.17", "2.17.0\n", "٢.١٧.٠"]) | scalars,
               pipeline_root=st.sampled_from(["minio://mlpipeline/v2", "minio://", "s3://x"]) | scalars)
DELETED = object()
outputs = st.fixed_dictionaries({}, optional={name: st.just(DELETED) | change for name, change in CHANGES.items()})


@PROPERTY
@given(changes=outputs)
def test_stack_outputs_are_refused_naming_every_bad_field_or_usable_by_every_reader(changes):
    raw = {k: v for k, v in {**FIXTURE, **changes}.items() if v is not DELETED}
    try:
        parsed = StackOutputs.parse(raw)
    except UserError as err:
        assert err.problem.startswith("the stack's outputs are not what `inv up` writes: ") and "inv up" in err.fix
        assert any(f"`{name}`" in err.problem for name in changes), "a field it did not change cannot be bad"
        assert FIXTURE["minio_secret_key"] not in err.problem and FIXTURE["kubeconfig"] not in err.problem
        return
    assert all(1 <= port <= 65535 for port in parsed.host_ports().values()) and len(parsed.host_ports()) == 3
    assert 1 <= int(parsed.registry.rpartition(":")[2]) <= 65535
    endpoint = Endpoints.from_outputs(parsed)
    assert endpoint.outputs is parsed and not endpoint.kfp.endswith("/")
    assert Target.from_outputs(parsed).platform in ("linux/amd64", "linux/arm64")
    assert all(url.startswith(("http://", "https://")) for url in endpoints(parsed).values())
    kfp, minio = port_forward_commands(parsed)
    assert kfp[-1].split(":")[0].isdigit() and all(part.isdigit() for p in minio[-2:] for part in p.split(":"))


def test_each_bad_field_is_named_once_in_one_message():
    with pytest.raises(UserError) as err:
        StackOutputs.parse({**FIXTURE, "kfp_endpoint": "http://127.0.0.1", "registry": "localhost:50O1",
                            "cluster": {**FIXTURE["cluster"], "arch": "riscv64"}, "kubeconfig": None})
    assert err.value.problem == (
        "the stack's outputs are not what `inv up` writes: `kfp_endpoint` = 'http://127.0.0.1' has no valid port "
        "(the stack publishes each endpoint on its own port); `registry` = 'localhost:50O1' is not host:port (the "
        "registry's port on 127.0.0.1); `cluster`: `cluster.arch` is 'riscv64', not one of amd64, arm64; "
        "`kubeconfig` is missing")


status_records = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8)
actions = st.fixed_dictionaries({}, optional={"at": scalars, "action": scalars | st.just("restart"),
                                              "deployment": scalars, "object": scalars,
                                              "reason": scalars | st.just("WatchdogRestartLimit")})
records = st.fixed_dictionaries({}, optional={
    "lastCheck": scalars | st.sampled_from(["2027-01-15T08:00:00Z", "2027-01-15T08:00:00", "9999-01-01T00:00:00Z",
                                            "2027-01-15"]),
    "ok": scalars, "apiErrors": scalars, "error": scalars, "actions": st.lists(actions, max_size=3) | scalars})


@PROPERTY
@given(record=records | status_records)
def test_a_watchdog_status_record_edited_by_hand_is_a_finding_never_a_crash(record):
    check = watchdog_check(json.dumps(record), NOW)
    assert check.name == "watchdog" and check.status in (OK, WARN, FAIL)
    if check.status != OK:
        assert check.fix and "kubectl" in check.fix
    if "unreadable" in check.detail:
        assert "status.json) is unreadable: " in check.detail


def test_a_status_record_naming_a_bad_field_says_which():
    record = {"lastCheck": "2027-01-15T08:00:00Z", "actions": [{"at": "x", "action": "restart", "reason": "OOM"}]}
    check = watchdog_check(json.dumps(record), NOW)
    assert check.status == WARN and check.detail.endswith("`actions[0].deployment` is None, not text")


numbers = st.integers(-10, 10**20).map(str) | st.floats().map(str) | text | st.sampled_from(["٣", " 5\n", "1e3",
                                                                                               "nan", "inf", "0x10"])


@PROPERTY
@given(neighbors=st.none() | numbers | st.lists(numbers, max_size=4).map(",".join),
       parallelism=st.none() | numbers, test_size=st.none() | numbers, random_state=st.none() | numbers)
def test_wine_arguments_are_refused_with_their_flag_or_valid(neighbors, parallelism, test_size, random_state):
    try:
        args = wine_arguments(neighbors=neighbors, parallelism=parallelism, test_size=test_size,
                              random_state=random_state)
    except UserError as err:
        assert err.problem.startswith("--") and err.fix
        return
    assert args.neighbors and all(isinstance(n, int) and n >= 1 for n in args.neighbors)
    assert isinstance(args.parallelism, int) and args.parallelism >= 1
    assert 0 < args.test_size < 1 and isinstance(args.random_state, int)


@pytest.mark.parametrize("flag", ["neighbors", "parallelism", "test_size", "random_state"])
@pytest.mark.parametrize("digits", ["٣", "５", "0.٢"])
def test_non_ascii_digits_are_refused_by_their_flag(flag, digits):
    with pytest.raises(UserError) as err:
        wine_arguments(**{flag: digits})
    assert err.value.problem.startswith(f"--{flag.replace('_', '-')} must be ")
    with pytest.raises(UserError, match="^-a must be an integer"):
        quickstart_arguments(a=digits)


@PROPERTY
@given(a=st.none() | numbers, b=st.none() | numbers, c=st.none() | numbers)
def test_quickstart_arguments_are_refused_with_their_flag_or_integers(a, b, c):
    try:
        args = quickstart_arguments(a=a, b=b, c=c)
    except UserError as err:
        assert err.problem.startswith("-") and err.fix
        return
    assert all(isinstance(value, int) and not isinstance(value, bool) for value in args.values())


@PROPERTY
@given(arch=st.none() | st.sampled_from(["amd64", "arm64", "x86", "amd64\n"]) | text,
       version=st.none() | st.sampled_from(["2.17.0", "2.17.0\n", "２.17.0"]) | text,
       manifests=st.none() | text)
def test_render_options_are_refused_by_their_flag_or_valid(arch, version, manifests):
    try:
        config = render_config(arch, manifests, version)
    except UserError as err:
        assert err.problem.startswith(("invalid --arch ", "invalid --kfp-version ", "invalid --kfp-manifests "))
        return
    assert config.arch in ("amd64", "arm64") and config.kfp_version.count(".") == 2


@PROPERTY
@given(target=st.none() | st.sampled_from(["auto", "LOCAL", " local ", "cluster", "clsuter"]) | text,
       local=st.booleans())
def test_target_is_refused_or_resolved_without_a_stack(target, local, monkeypatch):
    """`laptop.stack.find_outputs` stands in for the pulumi CLI (absent here): no stack is up."""
    from laptop import stack

    monkeypatch.setattr(stack, "find_outputs", lambda name=None: None)
    monkeypatch.setattr(stack, "stack_outputs", lambda name=None: (_ for _ in ()).throw(UserError("no stack")))
    try:
        assert resolve_target(local, target, None, Console(file=open("/dev/null", "w"))) is None
    except UserError as err:
        assert err.problem.startswith(("--target", "--local", "no stack"))
