"""`inv up` / `inv down` / the outputs readers, driven against a stand-in for `pulumi.automation`'s Stack.

The Pulumi CLI is not on this machine, so the stand-in plays the stack (its config, outputs, up/destroy); the real
`pulumi.automation` value types and errors are used, and docker/kind are small scripts on a temporary PATH.
Like the CLI, the stand-in keeps the stack's own settings in Pulumi.<stack>.yaml, and its `get_all_config`
(`pulumi config --json`) also lists the defaults the real Pulumi.yaml declares.
"""
from __future__ import annotations

import types
from pathlib import Path

import pulumi.automation as auto
import pytest
import yaml

from infra.config import PROJECT_ROOT
from infra.data_dir import MARKER as DATA_DIR_MARKER
from kfp_laptop.errors import UserError
from laptop import stack

# What `pulumi config --json` adds for every key the stack leaves unset (the CLI prints values as strings).
PROJECT_DEFAULTS = {f"kfp-laptop:{key}": str(spec["default"])
                    for key, spec in yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())["config"].items()}


class FakeWorkspace:
    def __init__(self, work_dir: Path):
        self.env_vars: dict[str, str] = {}
        self.work_dir = str(work_dir)


class FakeStack:
    """Records what the workflow asks of the stack."""

    work_dir: Path   # the project folder, set per test by the `laptop` fixture

    def __init__(self, name: str, config: dict[str, str] | None = None, outputs: dict | None = None,
                 outputs_error: bool = False):
        self.name, self.workspace, self.calls = name, FakeWorkspace(self.work_dir), []
        self._save({f"kfp-laptop:{k}": v for k, v in (config or {}).items()})
        self._outputs, self._outputs_error = outputs or {}, outputs_error

    def _file(self) -> Path:
        return Path(self.workspace.work_dir) / f"Pulumi.{self.name}.yaml"

    def _own(self) -> dict[str, str]:
        return yaml.safe_load(self._file().read_text()).get("config") or {}

    def _save(self, config: dict[str, str]) -> None:
        self._file().write_text(yaml.safe_dump({"encryptionsalt": "v1:stand-in", "config": config}))

    def get_all_config(self):
        try:
            own = self._own()
        except yaml.YAMLError as err:   # the CLI refuses a settings file it cannot parse, naming it
            raise auto.CommandError(auto.CommandResult(
                stdout="", stderr=f"error: could not unmarshal '{self._file()}': {err.problem}", code=255)) from None
        return {key: auto.ConfigValue(value=value) for key, value in {**PROJECT_DEFAULTS, **own}.items()}

    def set_config(self, key, value):
        self.calls.append(("set_config", key, value.value))
        self._save({**self._own(), key: value.value})

    def preview(self, on_output=None, color=None):
        self.calls.append(("preview",))
        on_output("Previewing update (stand-in)")

    def up(self, on_output=None, color=None):
        self.calls.append(("up",))
        on_output("Updating (stand-in)")

    def destroy(self, on_output=None, color=None):
        self.calls.append(("destroy",))

    resources: list[dict] = []   # what the state holds (`pulumi stack export`)

    def export_stack(self):
        return auto.Deployment(version=3, deployment={"resources": self.resources})

    def outputs(self):
        if self._outputs_error:
            raise auto.CommandError(auto.CommandResult(stdout="", stderr="error: incorrect passphrase", code=255))
        return {k: auto.OutputValue(value=v, secret=k.endswith("key")) for k, v in self._outputs.items()}


OUTPUTS = {"kfp_endpoint": "http://127.0.0.1:8080", "minio_endpoint": "http://127.0.0.1:9000",
           "minio_console": "http://127.0.0.1:9001",
           "registry": "localhost:5001", "minio_access_key": "access-xyz", "minio_secret_key": "secret-xyz",
           "cluster": {"engine": "kind", "name": "kfp", "context": "kind-kfp", "arch": "arm64"}}


@pytest.fixture
def laptop(tmp_path, monkeypatch, fake_tools):
    """A laptop with docker, kind and pulumi (stand-ins), a private KFP_LAPTOP_HOME, and a stand-in automation API."""
    fake_tools.add("pulumi", "echo v3.200.0")   # only asked its version: the automation API is stood in for
    fake_tools.add("docker", docker_info("aarch64"))
    fake_tools.add("kind", '[ "$1 $2" = "get clusters" ] && echo kfp\nexit 0')   # cluster is up
    monkeypatch.setattr(FakeStack, "work_dir", tmp_path / "project", raising=False)
    FakeStack.work_dir.mkdir()
    monkeypatch.setenv("KFP_LAPTOP_HOME", str(tmp_path / "home"))
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    stacks: dict[str, FakeStack] = {}
    seen_env: list[dict] = []

    def select_stack(name, work_dir=None, opts=None):
        if name not in stacks:
            raise auto.StackNotFoundError(auto.CommandResult("", f"no stack named '{name}' found", 255))
        return stacks[name]

    def create_or_select_stack(name, work_dir=None, opts=None):
        seen_env.append(dict(opts.env_vars))
        if name not in stacks:
            stacks[name] = FakeStack(name, outputs=OUTPUTS)
        return stacks[name]

    fake = types.SimpleNamespace(select_stack=select_stack, create_or_select_stack=create_or_select_stack,
                                 LocalWorkspaceOptions=auto.LocalWorkspaceOptions, ConfigValue=auto.ConfigValue,
                                 StackNotFoundError=auto.StackNotFoundError, CommandError=auto.CommandError)
    monkeypatch.setattr(stack, "_auto", lambda: fake)
    monkeypatch.setattr(stack, "host_arch", lambda: "arm64")
    return types.SimpleNamespace(stacks=stacks, env=seen_env, home=tmp_path / "home", tmp=tmp_path, tools=fake_tools)


def docker_info(arch: str) -> str:
    """A stand-in docker's script: `docker info --format '{{json .}}'` of a running engine."""
    return f"""[ "$1" = info ] && echo '{{"ServerVersion": "27.3.1", "Architecture": "{arch}"}}'\nexit 0"""


def test_up_writes_detected_defaults_then_previews_confirms_and_applies(laptop, monkeypatch, capsys):
    """The user's "y" at the prompt is stood in for (pytest gives no terminal); the prompt's own refusal without one
    is tested in test_stack.py."""
    monkeypatch.setattr(stack, "_confirm", lambda question, yes: None)
    outputs = stack.up(stack="alice-mbp")
    fake = laptop.stacks["alice-mbp"]
    assert fake.calls == [("set_config", "kfp-laptop:arch", "arm64"), ("set_config", "kfp-laptop:engine", "kind"),
                          ("preview",), ("up",)]
    assert laptop.env[0]["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(laptop.home / "passphrase")
    assert (laptop.home / "passphrase").is_file()
    printed = capsys.readouterr().out
    assert "Updating (stand-in)" in printed and "http://127.0.0.1:8080" in printed
    assert "secret-xyz" not in printed and "access-xyz" not in printed
    assert outputs["minio_secret_key"] == "secret-xyz"


def test_up_on_a_k3d_only_laptop_writes_engine_k3d_over_the_project_default(laptop):
    """Pulumi.yaml's default (kind) is not a choice the user made: the engine installed here is written instead."""
    (laptop.tools.folder / "kind").rename(laptop.tools.folder / "k3d")
    on_k3d = {**OUTPUTS, "cluster": {**OUTPUTS["cluster"], "engine": "k3d", "context": "k3d-kfp"}}
    laptop.stacks["carol"] = FakeStack("carol", outputs=on_k3d)
    stack.up(stack="carol", yes=True)
    assert ("set_config", "kfp-laptop:engine", "k3d") in laptop.stacks["carol"].calls
    assert laptop.stacks["carol"].calls[-1] == ("up",)


def test_up_takes_the_arch_from_docker_not_from_this_python(laptop, monkeypatch):
    """An x86_64 Python under Rosetta on Apple Silicon: the nodes are Docker's arm64, so images are planned for that."""
    monkeypatch.setattr(stack, "host_arch", lambda: "amd64")
    laptop.tools.add("docker", docker_info("aarch64"))
    stack.up(stack="dave", yes=True)
    assert ("set_config", "kfp-laptop:arch", "arm64") in laptop.stacks["dave"].calls


def test_up_keeps_the_users_settings_and_skips_the_preview_with_yes(laptop):
    laptop.stacks["bob"] = FakeStack("bob", config={"engine": "kind", "arch": "amd64"}, outputs=OUTPUTS)
    stack.up(stack="bob", yes=True)
    assert laptop.stacks["bob"].calls == [("up",)]


def test_up_of_a_stack_whose_cluster_was_deleted_by_hand_says_to_recreate_it(laptop):
    """Otherwise `pulumi up` would see no change and succeed with endpoints nothing answers on."""
    gone = {**OUTPUTS, "cluster": {**OUTPUTS["cluster"], "name": "gone"}}
    laptop.stacks["erin"] = FakeStack("erin", config={"engine": "kind", "arch": "amd64", "clusterName": "gone"},
                                      outputs=gone)
    with pytest.raises(UserError) as err:
        stack.up(stack="erin", yes=True)
    assert "kind cluster `gone` no longer exists" in err.value.problem and "inv down" in err.value.fix
    assert ("up",) not in laptop.stacks["erin"].calls


def test_up_moving_a_stack_to_another_engine_checks_the_cluster_it_is_up_on(laptop):
    """The kind cluster in the outputs exists; the k3d one in the settings is what this `pulumi up` creates."""
    laptop.tools.add("k3d", "exit 1")   # `k3d cluster get kfp`: no such cluster yet
    laptop.stacks["frank"] = FakeStack("frank", config={"engine": "k3d", "arch": "amd64"}, outputs=OUTPUTS)
    stack.up(stack="frank", yes=True)
    assert laptop.stacks["frank"].calls == [("up",)]


def test_up_refuses_a_bad_setting_before_pulumi_runs(laptop):
    laptop.stacks["bob"] = FakeStack("bob", config={"engine": "kind", "arch": "amd64", "kfpPort": "99999"})
    with pytest.raises(UserError, match=r"kfp-laptop:kfpPort = '99999'"):
        stack.up(stack="bob", yes=True)
    assert ("up",) not in laptop.stacks["bob"].calls


def test_a_stack_settings_file_pulumi_cannot_parse_is_one_message_naming_it(laptop):
    laptop.stacks["erin"] = FakeStack("erin", config={"engine": "kind", "arch": "amd64"})
    (FakeStack.work_dir / "Pulumi.erin.yaml").write_text("config:\n  kfp-laptop:arch: [amd64\n")
    for command in (lambda: stack.up(stack="erin", yes=True), lambda: stack.down(stack="erin", yes=True)):
        with pytest.raises(UserError, match=r"`pulumi config` of stack `erin` failed: .*Pulumi\.erin\.yaml") as err:
            command()
        assert "Pulumi.erin.yaml" in err.value.fix
    assert laptop.stacks["erin"].calls == []


def test_a_state_backend_pulumi_cannot_use_is_one_message_with_the_fix(laptop, monkeypatch):
    """The CLI's answer when the file backend's folder is not writable is stood in for (no Pulumi CLI here)."""
    def refused(name, work_dir=None, opts=None):
        raise auto.CommandError(auto.CommandResult("", "error: could not create '~/.pulumi': permission denied", 255))
    fake = types.SimpleNamespace(**{**vars(stack._auto()), "select_stack": refused, "create_or_select_stack": refused})
    monkeypatch.setattr(stack, "_auto", lambda: fake)
    for command in (lambda: stack.find_outputs("gina"), lambda: stack.up(stack="gina", yes=True),
                    lambda: stack.down(stack="gina", yes=True)):
        failed = r"of stack `gina` failed: error: could not create .*permission denied"
        with pytest.raises(UserError, match=failed) as err:
            command()
        assert "PULUMI_BACKEND_URL" in err.value.fix


def test_outputs_are_plain_values_with_secrets_revealed(laptop):
    laptop.stacks["alice"] = FakeStack("alice", outputs=OUTPUTS)
    (laptop.home).mkdir()
    (laptop.home / "passphrase").write_text("p\n")
    assert stack.stack_outputs("alice") == OUTPUTS
    assert stack.find_outputs("alice") == OUTPUTS
    assert laptop.stacks["alice"].workspace.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(laptop.home / "passphrase")


def test_no_stack_means_none_for_find_and_a_fix_for_stack_outputs(laptop):
    assert stack.find_outputs("nobody") is None
    with pytest.raises(UserError) as err:
        stack.stack_outputs("nobody")
    assert "no stack `nobody`" in err.value.problem and "inv up" in err.value.fix


def test_stack_without_outputs_is_not_up(laptop, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    laptop.stacks["empty"] = FakeStack("empty", outputs={})
    assert stack.find_outputs("empty") is None
    with pytest.raises(UserError, match="has no outputs"):
        stack.stack_outputs("empty")


def test_unreadable_stack_names_the_passphrase(laptop, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/wrong/file")
    laptop.stacks["alice"] = FakeStack("alice", outputs=OUTPUTS, outputs_error=True)
    with pytest.raises(UserError) as err:
        stack.find_outputs("alice")
    assert "incorrect passphrase" in err.value.problem and "PULUMI_CONFIG_PASSPHRASE_FILE" in err.value.fix


def test_down_destroys_and_purge_deletes_the_data_dir(laptop, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    data = laptop.tmp / "data"
    (data / "mysql").mkdir(parents=True)
    (data / DATA_DIR_MARKER).touch()
    laptop.stacks["alice"] = FakeStack("alice", config={"dataDir": str(data)})
    stack.down(stack="alice", yes=True)
    assert laptop.stacks["alice"].calls == [("destroy",)] and data.is_dir()
    stack.down(stack="alice", purge=True, yes=True)
    assert not data.exists()


def test_purge_refuses_a_data_dir_holding_files_kfp_laptop_did_not_write_and_destroys_nothing(laptop, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    data = laptop.tmp / "data"
    (data / "mysql").mkdir(parents=True)
    (data / DATA_DIR_MARKER).touch()
    (data / "thesis.tex").write_text("years of work")
    laptop.stacks["alice"] = FakeStack("alice", config={"dataDir": str(data)})
    with pytest.raises(UserError) as err:
        stack.down(stack="alice", purge=True, yes=True)
    assert err.value.problem == f"refusing to delete {data}: it also holds thesis.tex, which kfp-laptop did not write"
    assert "nothing was deleted" in err.value.fix and "sudo" not in err.value.fix and "rm -rf" not in err.value.fix
    assert laptop.stacks["alice"].calls == [], "refused before the stack was destroyed"
    assert (data / "thesis.tex").read_text() == "years of work" and (data / "mysql").is_dir()


def test_port_forward_is_not_needed_when_the_cluster_publishes_ports(laptop, monkeypatch, capsys):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    laptop.stacks["alice"] = FakeStack("alice", outputs=OUTPUTS)
    stack.port_forward("alice")
    assert "not needed" in capsys.readouterr().out


def test_port_forward_refuses_a_port_another_program_holds_before_starting_kubectl(laptop, monkeypatch):
    """kubectl is a script that records its start (a real forward needs a cluster)."""
    import socket

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from-env")
    started = laptop.tmp / "kubectl.log"
    laptop.tools.add("kubectl", f'echo "$*" >> {started}')
    with socket.socket() as holder, socket.socket() as spare:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        spare.bind(("127.0.0.1", 0))
        port, free = holder.getsockname()[1], spare.getsockname()[1]
        spare.close()
        laptop.stacks["hal"] = FakeStack("hal", outputs={
            **OUTPUTS, "kfp_endpoint": f"http://127.0.0.1:{port}", "minio_endpoint": f"http://127.0.0.1:{free}",
            "minio_console": f"http://127.0.0.1:{free}", "cluster": {**OUTPUTS["cluster"], "engine": "existing"}})
        with pytest.raises(UserError, match=f"port\\(s\\) {port} on 127.0.0.1 already in use"):
            stack.port_forward("hal")
    assert not started.exists()


def test_first_up_refuses_a_port_another_program_holds(laptop):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        laptop.stacks["fresh"] = FakeStack("fresh", config={"engine": "kind", "arch": "amd64",
                                                            "kfpPort": str(taken)}, outputs={})
        with pytest.raises(UserError) as err:
            stack.up(stack="fresh", yes=True)
    assert f"port {taken} on 127.0.0.1 (kfp-laptop:kfpPort) is already in use" in err.value.problem
    assert "pulumi config set kfp-laptop:kfpPort PORT" in err.value.fix
    assert ("up",) not in laptop.stacks["fresh"].calls


def test_a_failed_up_is_one_message_with_pulumis_last_error(laptop):
    class FailingStack(FakeStack):
        def up(self, on_output=None, color=None):
            raise auto.CommandError(auto.CommandResult(stdout="", code=255, stderr=(
                "error: update failed\nerror: kfp-laptop:kfpPort = '0': a TCP port number between 1 and 65535")))

    laptop.stacks["bob"] = FailingStack("bob", config={"engine": "kind", "arch": "amd64"}, outputs=OUTPUTS)
    with pytest.raises(UserError) as err:
        stack.up(stack="bob", yes=True)
    assert err.value.problem == ("`pulumi up` of stack `bob` failed: "
                                 "error: kfp-laptop:kfpPort = '0': a TCP port number between 1 and 65535")
    assert "inv doctor" in err.value.fix


def _holding(port_holder):
    """A socket holding a free port on 127.0.0.1, as a registry container would."""

    port_holder.bind(("127.0.0.1", 0))
    port_holder.listen()
    return port_holder.getsockname()[1]


def test_first_up_refuses_a_registry_port_another_program_holds(laptop, monkeypatch):
    import socket

    monkeypatch.setattr(stack, "_confirm", lambda question, yes: None)
    with socket.socket() as holder:
        port = _holding(holder)
        laptop.stacks["new"] = FakeStack("new", config={"engine": "kind", "arch": "amd64", "registryPort": str(port)})
        with pytest.raises(UserError, match=f"port {port} on 127.0.0.1 \\(kfp-laptop:registryPort\\)"):
            stack.up(stack="new", yes=True)
    assert ("up",) not in laptop.stacks["new"].calls


def test_retry_of_a_failed_first_up_is_not_blocked_by_the_stacks_own_registry(laptop, monkeypatch):
    """A first `up` that failed left its registry container (holding registryPort) and no outputs."""
    import socket

    with socket.socket() as registry:
        port = _holding(registry)
        retry = FakeStack("retry", config={"engine": "kind", "arch": "amd64", "registryPort": str(port)})
        retry.resources = [{"urn": "urn:pulumi:retry::kfp-laptop::command:local:Command::registry-container"}]
        laptop.stacks["retry"] = retry
        stack.up(stack="retry", yes=True)
    assert ("up",) in retry.calls
