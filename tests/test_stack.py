"""The stack-per-laptop workflow's own decisions: stack name, detected defaults, passphrase file, purge safety,
port-forward commands, and the errors a laptop without the Pulumi CLI gets (a PATH holding only the tools a test puts
there, as small scripts: the shared `fake_tools` fixture)."""
from __future__ import annotations

import stat
import sys
import time

import pytest

from kfp_laptop.errors import UserError
from laptop import stack
from laptop.host import (
    busy_ports,
    default_stack_name,
    detect_engine,
    require_docker_running,
    require_tools,
    sanitize_stack_name,
)
from laptop.outputs import HOST_URL_OUTPUTS, StackOutputs
from laptop.passphrase import ensure_passphrase_file, passphrase_env
from laptop.port_forward import port_forward_commands


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KFP_LAPTOP_HOME", str(tmp_path / "kfp-home"))
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "kfp-home"


@pytest.mark.parametrize("user,host,name", [("alice", "alice-mbp.local", "alice-alice-mbp"),
                                            ("John.Doe", "Johns-MacBook-Pro.fritz.box", "john-doe-johns-macbook-pro"),
                                            ("root", "CI_runner_7", "root-ci-runner-7")])
def test_stack_is_named_after_user_and_host(user, host, name):
    assert default_stack_name(user, host) == name


def test_sanitizing_never_yields_an_empty_name():
    assert sanitize_stack_name("__") == "laptop"


def test_engine_detection_prefers_kind_then_k3d():
    assert detect_engine({"kind": "/b/kind", "k3d": "/b/k3d"}.get) == "kind"
    assert detect_engine({"k3d": "/b/k3d"}.get) == "k3d"
    assert detect_engine({}.get) is None


def test_detected_defaults_fill_only_what_the_user_left_unset(monkeypatch):
    """Docker (not on this machine) is stood in as not answering, and the host as arm64, so the result does not
    depend on where the suite runs; the engine lookup is a plain mapping in place of PATH."""
    monkeypatch.setattr(stack, "docker_arch", lambda: None)   # no Docker answering: this host's arch
    monkeypatch.setattr(stack, "host_arch", lambda: "arm64")
    assert stack.detected_defaults({}, {"k3d": "/b/k3d"}.get) == {"arch": "arm64", "engine": "k3d"}
    assert stack.detected_defaults({"arch": "amd64", "engine": "kind"}, {}.get) == {}


def test_no_engine_installed_says_how_to_install_one():
    with pytest.raises(UserError) as err:
        stack.detected_defaults({"arch": "amd64"}, {}.get)
    assert "neither kind nor k3d" in err.value.problem and "brew install kind" in err.value.fix


def test_passphrase_file_is_user_only_outside_the_repo_and_stable(home):
    path = ensure_passphrase_file()
    assert path.parent == home and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert len(path.read_text().strip()) >= 40
    first = path.read_text()
    assert ensure_passphrase_file().read_text() == first, "never regenerated: the stack's secrets depend on it"
    assert passphrase_env(create=False) == {"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}


def test_loosened_passphrase_file_is_tightened(home):
    path = ensure_passphrase_file()
    path.chmod(0o644)
    ensure_passphrase_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_passphrase_folder_that_existed_with_loose_modes_is_tightened(home):
    home.mkdir(mode=0o755)
    home.chmod(0o777)
    (home / "passphrase").write_text("kept\n")
    (home / "passphrase").chmod(0o666)
    path = ensure_passphrase_file()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "kept\n"


def test_a_passphrase_home_that_cannot_be_created_is_a_user_error(home, monkeypatch):
    home.parent.joinpath("a-file").write_text("")
    monkeypatch.setenv("KFP_LAPTOP_HOME", str(home.parent / "a-file" / "kfp-home"))
    with pytest.raises(UserError, match="cannot create the stack's secrets passphrase file") as err:
        passphrase_env(create=True)
    assert "KFP_LAPTOP_HOME" in err.value.fix


def test_missing_passphrase_is_a_user_error_unless_the_user_set_their_own(home, monkeypatch):
    with pytest.raises(UserError, match="passphrase file .* is missing"):
        passphrase_env(create=False)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/elsewhere/pass")
    assert passphrase_env(create=False) == {}


def test_without_pulumi_cli_there_are_no_outputs_to_find(fake_tools):
    assert stack.find_outputs() is None
    assert stack.find_outputs("someone-else") is None


@pytest.mark.parametrize("call", [lambda: stack.stack_outputs(), lambda: stack.up(yes=True),
                                  lambda: stack.down(yes=True), lambda: stack.port_forward()])
def test_without_pulumi_cli_commands_say_how_to_install_it(fake_tools, call):
    with pytest.raises(UserError) as err:
        call()
    assert "Pulumi CLI" in err.value.problem and "get.pulumi.com" in err.value.fix


def test_every_missing_tool_is_named_at_once_with_its_install_command(fake_tools):
    with pytest.raises(UserError) as err:
        require_tools("k3d")
    assert err.value.problem == \
        "not installed (engine k3d needs them): the Pulumi CLI (`pulumi`), Docker (`docker`), k3d"
    assert all(hint in err.value.fix for hint in ("get.pulumi.com", "Docker Desktop", "brew install k3d"))
    fake_tools.add("docker")
    fake_tools.add("pulumi")
    with pytest.raises(UserError) as err:
        require_tools("k3d")
    assert err.value.problem == "not installed (engine k3d needs them): k3d"
    fake_tools.add("k3d")
    require_tools("k3d")


def test_without_an_engine_chosen_either_kind_or_k3d_will_do(fake_tools):
    with pytest.raises(UserError) as err:
        require_tools(None)
    assert err.value.problem.endswith("Docker (`docker`), kind or k3d") and "brew install k3d" in err.value.fix
    for tool in ("pulumi", "docker", "k3d"):
        fake_tools.add(tool)
    require_tools(None)


def test_docker_installed_but_stopped_says_to_start_it(fake_tools):
    fake_tools.add("docker", "echo 'Cannot connect to the Docker daemon' >&2; exit 1")
    with pytest.raises(UserError, match="not running"):
        require_docker_running()
    fake_tools.add("docker", """echo '{"ServerVersion": "27.3.1", "Architecture": "x86_64"}'""")
    assert require_docker_running()["ServerVersion"] == "27.3.1"


def test_docker_refusing_the_user_says_to_join_the_docker_group(fake_tools):
    fake_tools.add("docker", "echo 'permission denied while trying to connect to the Docker daemon socket at "
                      "unix:///var/run/docker.sock' >&2; exit 1")
    with pytest.raises(UserError) as err:
        require_docker_running()
    assert "permission denied" in err.value.problem and "usermod -aG docker" in err.value.fix


OUTPUTS = {"kfp_endpoint": "http://127.0.0.1:18080", "minio_endpoint": "http://127.0.0.1:19000",
           "minio_console": "http://127.0.0.1:19001", "registry": "localhost:15001",
           "minio_access_key": "AKIA-not-shown", "minio_secret_key": "s3cr3t-not-shown",
           "cluster": {"engine": "existing", "name": "team", "context": "team-ctx", "arch": "amd64"}}


def test_port_forward_serves_the_stacks_ports_on_loopback_only():
    kfp, minio = port_forward_commands(StackOutputs.parse(OUTPUTS, ("cluster", *HOST_URL_OUTPUTS)))
    for cmd in (kfp, minio):
        assert cmd[:5] == ["kubectl", "--context", "team-ctx", "--namespace", "kubeflow"]
        assert cmd[cmd.index("--address") + 1] == "127.0.0.1"
    assert kfp[-2:] == ["service/ml-pipeline-ui", "18080:80"]
    assert minio[-3:] == ["service/minio", "19000:9000", "19001:9001"]


def test_summary_shows_endpoints_and_never_secrets():
    text = stack.summary(OUTPUTS)
    assert "http://127.0.0.1:18080" in text and "localhost:15001" in text
    assert "not-shown" not in text


def test_confirmation_without_a_terminal_asks_for_yes(monkeypatch):
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))
    with pytest.raises(UserError) as err:
        stack._confirm("Destroy stack `x`?", yes=False)
    assert err.value.fix == "pass --yes"
    stack._confirm("Destroy stack `x`?", yes=True)


def test_busy_ports_are_found_on_loopback():
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with socket.socket() as spare:
            spare.bind(("127.0.0.1", 0))
            free = spare.getsockname()[1]
        assert busy_ports({"kfpPort": taken, "minioPort": free}) == {"kfpPort": taken}


def test_forwards_that_exit_are_restarted_until_ctrl_c(fake_tools, tmp_path, monkeypatch):
    """Real processes (a stand-in `kubectl` that exits at once, as a forward does when its pod restarts)."""
    import laptop.port_forward as forwarding

    log = tmp_path / "forwards.log"
    fake_tools.add("kubectl", f'echo "$*" >> {log}')
    ticks = iter(range(3))

    def sleep(_seconds):
        if next(ticks, None) is None:
            raise KeyboardInterrupt
        time.sleep(0.2)   # let the stand-ins exit so they count as ended
    monkeypatch.setattr(forwarding, "STEADY_SECONDS", 0)   # each exit counts as a pod restart, not a failure
    commands = [["kubectl", "port-forward", "service/a", "1:1"], ["kubectl", "port-forward", "service/b", "2:2"]]
    forwarding.keep_forwarding(commands, restart_delay=0, sleep=sleep)
    started = log.read_text().splitlines()
    assert started.count("port-forward service/a 1:1") >= 2 and started.count("port-forward service/b 2:2") >= 2


def test_a_forward_that_keeps_failing_stops_with_kubectls_message(fake_tools):
    """A stand-in `kubectl` that fails at once, as with a wrong context: named once, not restarted forever."""
    import laptop.port_forward as forwarding

    fake_tools.fails("kubectl", 'error: context "team-ctx" does not exist')
    commands = [["kubectl", "--context", "team-ctx", "port-forward", "service/ml-pipeline-ui", "18080:80"]]
    with pytest.raises(UserError) as err:
        forwarding.keep_forwarding(commands, restart_delay=0.05)
    assert err.value.problem == ("`kubectl port-forward service/ml-pipeline-ui 18080:80` keeps exiting at once "
                                 '(3 times): error: context "team-ctx" does not exist')
    assert "kubectl --context team-ctx -n kubeflow get svc" in err.value.fix
