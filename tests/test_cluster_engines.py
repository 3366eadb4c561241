"""The kind/k3d steps, run for real by /bin/sh. Docker, kind and k3d are not on this machine, so small stand-in
scripts take their place: they record each call and keep the files the steps hand them (the cluster config,
containerd's hosts.toml), which the tests then parse as kind/k3d/containerd would."""
from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra import topology
from infra.cluster import registry_container as registry
from infra.cluster.engines import engine_for
from infra.config import ConfigError, from_raw
from infra.data_dir import MARKER as DATA_DIR_MARKER
from tests.support.tools import SYSTEM_PATH, FakeTools

STUBS = {
    "docker": r'''
echo "docker $*" >> "$STUB_LOG"
case "$1" in
  exec) if [ "$2" = "-i" ]; then [ "$4" = cp ] && cat > "$STUB_FS/$(echo "$6" | tr / _)"; fi ;;
  ps) [ -f "$STUB_FS/registry-exists" ] && echo 0123abcd ;;
  network) [ "$2" = inspect ] && cat "$STUB_FS/network-members" 2>/dev/null ;;
esac
exit 0''',
    "kind": r'''
echo "kind $*" >> "$STUB_LOG"
case "$1 $2" in
  "get clusters") [ -f "$STUB_FS/created" ] && echo "$STUB_CLUSTER" ;;
  "create cluster") while [ $# -gt 0 ]; do [ "$1" = --config ] && cp "$2" "$STUB_FS/cluster-config.yaml"; shift; done
                    touch "$STUB_FS/created"; echo "Creating cluster ..." >&2 ;;
  "get nodes") echo "$STUB_CLUSTER-control-plane" ;;
  "get kubeconfig") printf 'apiVersion: v1\nkind: Config\n' ;;
esac
exit 0''',
    "k3d": r'''
echo "k3d $*" >> "$STUB_LOG"
case "$1 $2" in
  "cluster get") [ -f "$STUB_FS/created" ] || exit 1 ;;
  "cluster create") while [ $# -gt 0 ]; do [ "$1" = --config ] && cp "$2" "$STUB_FS/cluster-config.yaml"; shift; done
                    touch "$STUB_FS/created"; echo "INFO creating" >&2 ;;
  "kubeconfig get") printf 'apiVersion: v1\nkind: Config\n' ;;
esac
exit 0''',
}
KUBECONFIG_TEXT = "apiVersion: v1\nkind: Config\n"


class Host:
    """A stand-in laptop: stub binaries on PATH (the `fake_tools` fixture), a call log, and the files the steps left."""

    def __init__(self, tools: FakeTools, stubs=("docker", "kind", "k3d")):
        root = tools.folder.parent
        self.tools, self.fs, self.log = tools, root / "fs", root / "calls.log"
        self.fs.mkdir()
        for tool in stubs:
            tools.add(tool, STUBS[tool])

    def run(self, script: str) -> subprocess.CompletedProcess:
        env = {"PATH": self.tools.path(), "STUB_LOG": str(self.log), "STUB_FS": str(self.fs),
               "STUB_CLUSTER": "lab", "HOME": str(self.fs)}
        return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def config(engine: str, tmp_path: Path):
    return from_raw({"engine": engine, "clusterName": "lab", "kfpPort": "18080", "minioPort": "19000",
                     "minioConsolePort": "19001", "registryPort": "15001", "dataDir": str(tmp_path / "my data")})


def create(cfg) -> str:
    """The create step, with the stack's registry passed in as the program passes it."""
    return engine_for(cfg).create_command(registry.registry_spec(cfg))


def document(cfg) -> dict:
    return engine_for(cfg).config_document(registry.registry_spec(cfg))


@pytest.mark.parametrize("engine", ["kind", "k3d"])
def test_create_prints_only_the_kubeconfig_and_hands_the_engine_its_config(engine, tmp_path, fake_tools):
    host, cfg = Host(fake_tools), config(engine, tmp_path)
    result = host.run(create(cfg))
    assert result.returncode == 0, result.stderr
    assert result.stdout == KUBECONFIG_TEXT
    assert yaml.safe_load((host.fs / "cluster-config.yaml").read_text()) == document(cfg)
    assert (cfg.data_dir / DATA_DIR_MARKER).is_file(), "dataDir (with a space in its path) prepared and marked"


def test_kind_writes_the_registry_mirror_into_every_node(tmp_path, fake_tools):
    host = Host(fake_tools)
    assert host.run(create(config("kind", tmp_path))).returncode == 0
    hosts_toml = host.fs / "_etc_containerd_certs.d_localhost:15001_hosts.toml"
    mirror = tomllib.loads(hosts_toml.read_text())
    assert mirror == {"host": {"http://lab-registry:5000": {"capabilities": ["pull", "resolve"]}}}
    assert "docker exec lab-control-plane mkdir -p /etc/containerd/certs.d/localhost:15001" in host.calls()


@pytest.mark.parametrize("engine", ["kind", "k3d"])
def test_create_adopts_an_existing_cluster_instead_of_failing(engine, tmp_path, fake_tools):
    host, cfg = Host(fake_tools), config(engine, tmp_path)
    host.run(create(cfg))
    second = host.run(create(cfg))
    assert second.returncode == 0 and second.stdout == KUBECONFIG_TEXT
    assert sum(f"{engine} " in c and " create" in c for c in host.calls()) == 1


@pytest.mark.parametrize("engine,hint", [("kind", "brew install kind"), ("k3d", "brew install k3d")])
def test_missing_engine_binary_fails_with_the_install_command(engine, hint, tmp_path, fake_tools):
    if shutil.which(engine, path=SYSTEM_PATH):
        pytest.skip(f"{engine} is installed system-wide here, so it cannot be missing")
    host = Host(fake_tools, stubs=("docker",))
    result = host.run(create(config(engine, tmp_path)))
    assert result.returncode == 127
    assert f"`{engine}` is not installed" in result.stderr and hint in result.stderr


def test_missing_docker_is_named_first(tmp_path, fake_tools):
    if shutil.which("docker", path=SYSTEM_PATH):
        pytest.skip("docker is installed system-wide here")
    result = Host(fake_tools, stubs=("kind",)).run(create(config("kind", tmp_path)))
    assert result.returncode == 127 and "`docker` is not installed" in result.stderr


@pytest.mark.parametrize("engine,expected", [("kind", "kind delete cluster --name lab"),
                                             ("k3d", "k3d cluster delete lab")])
def test_delete_removes_the_cluster_and_keeps_data(engine, expected, tmp_path, fake_tools):
    host, cfg = Host(fake_tools), config(engine, tmp_path)
    host.run(create(cfg))
    assert host.run(engine_for(cfg).delete_command()).returncode == 0
    assert host.calls()[-1] == expected
    assert (cfg.data_dir / DATA_DIR_MARKER).is_file()


def test_registry_starts_once_on_loopback_and_restarts_when_present(tmp_path, fake_tools):
    host, cfg = Host(fake_tools), config("kind", tmp_path)
    spec = registry.registry_spec(cfg)
    assert host.run(registry.run_command(spec)).returncode == 0
    (run,) = [c for c in host.calls() if c.startswith("docker run")]
    assert "-p 127.0.0.1:15001:5000" in run and f"{cfg.data_dir}/registry:/var/lib/registry" in run
    assert (cfg.data_dir / "registry").is_dir()
    (host.fs / "registry-exists").touch()
    host.run(registry.run_command(spec))
    assert host.calls()[-1] == "docker start lab-registry"


def test_registry_joins_the_cluster_network_once(tmp_path, fake_tools):
    host, spec = Host(fake_tools), registry.registry_spec(config("k3d", tmp_path))
    assert host.run(registry.connect_command(spec, "k3d-lab")).returncode == 0
    assert host.calls()[-1] == "docker network connect k3d-lab lab-registry"
    (host.fs / "network-members").write_text("k3d-lab-server-0 lab-registry ")
    host.run(registry.connect_command(spec, "k3d-lab"))
    assert not host.calls()[-1].startswith("docker network connect")


def test_k3d_leaves_its_network_to_k3d_so_delete_removes_it(tmp_path):
    """k3d v5 marks a network named in the config file as external and keeps it on `k3d cluster delete`
    (pkg/config/transform.go), so every `inv down` would leave one behind. The registry joins k3d's default name."""
    cfg = config("k3d", tmp_path)
    assert "network" not in document(cfg)
    assert engine_for(cfg).network == "k3d-lab"


def test_node_data_dir_is_where_both_engines_mount_data(tmp_path):
    kind = document(config("kind", tmp_path))
    k3d = document(config("k3d", tmp_path))
    assert kind["nodes"][0]["extraMounts"][0]["containerPath"] == topology.NODE_DATA_DIR
    assert k3d["volumes"][0]["volume"].endswith(f":{topology.NODE_DATA_DIR}")


def test_registry_teardown_never_fails_a_destroy(tmp_path, fake_tools):
    """`docker rm`/`network disconnect` of something already gone must not block `pulumi destroy`."""
    host, spec = Host(fake_tools, stubs=()), registry.registry_spec(config("kind", tmp_path))
    for step in (registry.remove_command(spec), registry.disconnect_command(spec, "kind")):
        assert host.run(step).returncode == 0


@pytest.mark.parametrize("engine", ["kind", "k3d"])
def test_node_image_runs_the_kubernetes_minor_the_objects_are_validated_against(engine):
    """tests/support/k8s_schema.py checks every object against topology.KUBERNETES_VERSION: the nodes must run that
    minor."""
    cluster = document(from_raw({"engine": engine}, machine="x86_64"))
    image = cluster["nodes"][0]["image"] if engine == "kind" else cluster["image"]
    assert image.split(":")[1].startswith(f"v{topology.KUBERNETES_VERSION}."), image


# Path parts a user might type (spaces, quotes, $, backticks, globs, unicode) and ones the config must refuse.
_PATH_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="/\x00", exclude_categories=["Cs"]),
                     min_size=1, max_size=20).filter(lambda part: part not in (".", ".."))


@settings(max_examples=25, deadline=10000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(engine=st.sampled_from(["kind", "k3d"]), part=_PATH_TEXT,
       name=st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True))
def test_every_value_reaches_the_engine_intact_through_the_generated_steps(tmp_path_factory, engine, part, name):
    """Property: for every config the validation accepts, /bin/sh runs the create and registry steps, and the
    engine's stand-in receives the cluster name and dataDir exactly (nothing split, expanded or executed)."""
    root = tmp_path_factory.mktemp("steps")
    try:
        cfg = from_raw({"engine": engine, "clusterName": name, "dataDir": str(root / "data" / part),
                        "registryPort": "15001"})
    except ConfigError as err:
        assert "dataDir" in str(err) and ("control characters" in str(err) or "':'" in str(err)), str(err)
        return
    host, spec = Host(FakeTools(root / "bin")), registry.registry_spec(cfg)
    step = engine_for(cfg)
    for script in (step.create_command(spec), registry.run_command(spec)):
        result = host.run(script)
        assert result.returncode == 0, result.stderr
    written = yaml.safe_load((host.fs / "cluster-config.yaml").read_text())
    assert written == step.config_document(spec)
    assert (cfg.data_dir / DATA_DIR_MARKER).is_file() and (cfg.data_dir / "registry").is_dir()
    assert [p.name for p in (root / "data").iterdir()] == [cfg.data_dir.name], "nothing created beside dataDir"
