"""Config validation (pure `from_raw`) and Pulumi.yaml's declarations, which must agree key for key."""
from __future__ import annotations

import os

import pytest
import yaml

from infra.config import DEFAULTS, PROJECT_ROOT, ConfigError, default_data_dir, from_raw, host_arch


def test_defaults_are_the_contracts(monkeypatch, tmp_path):
    monkeypatch.setenv("KFP_LAPTOP_HOME", str(tmp_path))
    cfg = from_raw({}, stack="alice-laptop", machine="arm64")
    assert (cfg.engine, cfg.cluster_name, cfg.kube_context, cfg.arch, cfg.kfp_version, cfg.kfp_manifests) == \
        ("kind", "kfp", None, "arm64", "2.17.0", None)
    assert (cfg.kfp_port, cfg.minio_port, cfg.minio_console_port, cfg.registry_port) == (8080, 9000, 9001, 5001)
    assert cfg.registry == "localhost:5001"
    assert cfg.data_dir == tmp_path / "stacks" / "alice-laptop" / "data" == default_data_dir("alice-laptop")
    assert cfg.minio_image.startswith("quay.io/minio/minio:RELEASE.")


def test_empty_strings_mean_unset_as_pulumi_yaml_declares_them():
    assert from_raw({"kubeContext": "", "kfpManifests": "", "dataDir": ""}) == from_raw({})


@pytest.mark.parametrize("machine,arch", [("x86_64", "amd64"), ("AMD64", "amd64"), ("arm64", "arm64"),
                                          ("aarch64", "arm64"), ("ppc64le", None)])
def test_host_arch(machine, arch):
    assert host_arch(machine) == arch


def test_auto_arch_on_an_unsupported_host_says_to_set_it():
    with pytest.raises(ConfigError, match=r"kfp-laptop:arch = 'auto'.*ppc64le.*amd64 or arm64"):
        from_raw({}, machine="ppc64le")


def test_explicit_arch_wins_over_the_host():
    assert from_raw({"arch": "amd64"}, machine="arm64").arch == "amd64"


def test_ports_accept_numbers_as_the_engine_passes_them():
    cfg = from_raw({"kfpPort": "8888", "minioPort": 9100, "minioConsolePort": "9101", "registryPort": "5002"})
    assert (cfg.kfp_port, cfg.minio_port, cfg.minio_console_port, cfg.registry_port) == (8888, 9100, 9101, 5002)


@pytest.mark.parametrize("raw,key,value,allowed", [
    ({"engine": "minikube"}, "engine", "'minikube'", "allowed values are kind, k3d, existing"),
    ({"kfpPort": "65536"}, "kfpPort", "'65536'", "between 1024 and 65535"),
    ({"minioPort": "-1"}, "minioPort", "'-1'", "between 1024 and 65535"),
    ({"registryPort": "50O1"}, "registryPort", "'50O1'", "between 1024 and 65535"),
    ({"kfpPort": True}, "kfpPort", "True", "between 1024 and 65535"),
    ({"registryPort": "9000"}, "registryPort", "9000", "already used by kfp-laptop:minioPort"),
    ({"clusterName": "-kfp"}, "clusterName", "'-kfp'", "DNS label"),
    ({"clusterName": "k" * 64}, "clusterName", "'kkk", "at most 50 characters for engine kind"),
    ({"arch": "386"}, "arch", "'386'", "auto, amd64, arm64"),
    ({"kfpVersion": "latest"}, "kfpVersion", "'latest'", "like 2.17.0"),
    ({"minioImage": "quay.io/minio/minio"}, "minioImage", "'quay.io/minio/minio'", "exact tag or digest"),
    ({"minioImage": "minio/minio:latest"}, "minioImage", "'minio/minio:latest'", "not :latest"),
    ({"kubeContext": "prod"}, "kubeContext", "'prod'", "only used with engine existing"),
    ({"dataDir": "/"}, "dataDir", "'/'", "not / or your home folder"),
    ({"dataDir": "/tmp/a:b"}, "dataDir", "'/tmp/a:b'", "without ':'"),
    ({"dataDir": "~no-such-user-kfp/data"}, "dataDir", "'~no-such-user-kfp/data'", "not a user on this machine"),
    ({"kfpManifests": "~no-such-user-kfp"}, "kfpManifests", "'~no-such-user-kfp'", "not a user on this machine"),
    ({"enigne": "kind"}, "enigne", "'kind'", "unknown key"),
])
def test_each_bad_value_names_key_value_and_what_is_allowed(raw, key, value, allowed):
    with pytest.raises(ConfigError) as err:
        from_raw(raw, machine="x86_64")
    message = str(err.value)
    assert message.startswith(f"invalid config kfp-laptop:{key} = {value}")
    assert allowed in message and "\n" not in message


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="this path is a file"):
        from_raw({"dataDir": str(tmp_path / "file")})


def test_manifest_folder_with_both_renders_is_accepted(kfp_fixture):
    assert from_raw({"kfpManifests": str(kfp_fixture)}).kfp_manifests == kfp_fixture


def test_manifest_folder_is_relative_to_the_repository_not_the_working_folder(kfp_fixture, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(kfp_fixture, PROJECT_ROOT)
    assert from_raw({"kfpManifests": relative}).kfp_manifests.resolve() == kfp_fixture.resolve()


def test_manifest_folder_missing_a_render_names_it(tmp_path):
    with pytest.raises(ConfigError, match="missing: cluster-scoped-resources.yaml, platform-agnostic.yaml"):
        from_raw({"kfpManifests": "no-such-folder"})
    (tmp_path / "platform-agnostic.yaml").write_text("")
    with pytest.raises(ConfigError, match=r"missing: cluster-scoped-resources.yaml \("):
        from_raw({"kfpManifests": str(tmp_path)})


def test_pulumi_yaml_declares_every_key_with_type_default_and_description():
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "kfp-laptop" and project["main"] == "infra/"
    assert (PROJECT_ROOT / project["main"] / "__main__.py").is_file()
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    assert project["backend"]["url"].startswith("file://")
    declared = project["config"]
    assert set(declared) == set(DEFAULTS)
    for key, default in DEFAULTS.items():
        entry = declared[key]
        assert entry["type"] == ("integer" if isinstance(default, int) else "string"), key
        assert entry["default"] == default, key
        assert len(entry["description"]) > 20, key

