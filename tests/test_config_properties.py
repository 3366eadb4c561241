"""Property tests over config values: for any value of any key, `from_raw` either refuses it with one ConfigError
(one line, naming the key) or returns a StackConfig whose every field is what kind, k3d, Docker and the generated
shell steps accept. Each fails on a traceback, an accepted bad value, or a run past its deadline."""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from infra.cluster.engines import engine_for
from infra.cluster.registry_container import registry_spec, run_command
from infra.components.readiness import readiness_command
from infra.config import CLUSTER_NAME_MAX, DEFAULTS, MIN_HOST_PORT, ConfigError, from_raw

PROPERTY = settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Arabic-Indic and full-width digits: int() takes them, Docker does not.
ODD_DIGITS = "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９"
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
nearly_valid = {
    "engine": st.sampled_from(["kind", "k3d", "existing", "Kind", "kind\n", " kind"]),
    "clusterName": st.from_regex(r"[a-z0-9][a-z0-9-]{0,70}[a-z0-9]", fullmatch=True) | st.just("kfp\n") | text,
    "kfpVersion": st.from_regex(r"[0-9]+\.[0-9]+\.[0-9]+", fullmatch=True) | st.just("2.17.0\n")
    | st.builds(lambda s: s.translate(str.maketrans("0123456789", ODD_DIGITS[:10])), st.just("2.17.0")) | text,
    "minioImage": st.sampled_from(["quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "Minio/minio:1",
                                   "quay.io/Minio/minio:1", "quay.io/minio/minio:1\n", "minio/minio:latest",
                                   "localhost:5001/a/b@sha256:" + "a" * 64, "MyRegistry/minio:1"]) | text,
    "kfpPort": st.integers(-5, 70000) | st.sampled_from(["8080\n", " 8080", "８０８０", "٨٠٨٠", "80", "1023"]) | text,
    "registryPort": st.integers(0, 70000) | text,
    "kubeContext": st.sampled_from(["", "team", "team\n", "a\x1b[31mb"]) | text,
    "arch": st.sampled_from(["auto", "amd64", "arm64", "amd64\n", "ARM64"]) | text,
}
configs = st.fixed_dictionaries({}, optional=nearly_valid)


@PROPERTY
@given(raw=configs)
@example(raw={"clusterName": "kfp\n"})
@example(raw={"kfpVersion": "2.17.0\n"})
@example(raw={"kfpPort": "٨٠٨٠"})
@example(raw={"minioImage": "MyRegistry/minio:1"})
@example(raw={"engine": "k3d", "clusterName": "k" * 33})
@example(raw={"kfpPort": 80})
def test_every_value_is_refused_with_one_message_or_safe(raw, tmp_path):
    raw = {**raw, "dataDir": str(tmp_path / "data")}
    if raw.get("kubeContext") and raw.get("engine", "kind") != "existing":
        raw["engine"] = "existing"
    try:
        config = from_raw(raw, machine="x86_64")
    except ConfigError as err:
        message = str(err)
        assert err.key in DEFAULTS and message.startswith(f"invalid config kfp-laptop:{err.key} = ")
        assert "\n" not in message
        return
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", config.cluster_name, re.ASCII)
    assert len(config.cluster_name) <= CLUSTER_NAME_MAX[config.engine]
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", config.kfp_version, re.ASCII)
    ports = [config.kfp_port, config.minio_port, config.minio_console_port, config.registry_port]
    assert all(MIN_HOST_PORT <= port <= 65535 for port in ports) and len(set(ports)) == 4
    parts = config.minio_image.split("@")[0].split("/")
    parts[-1] = parts[-1].split(":")[0]   # the tag
    host = parts[0] if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost") else None
    repository = parts[1:] if host else parts
    assert all(part == part.lower() for part in repository), "Docker refuses upper-case repositories"
    assert config.minio_image.isascii() and config.minio_image.isprintable()
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", config.kube_context or ""), "no control characters"
    assert config.arch in ("amd64", "arm64")


@settings(max_examples=40, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=configs, engine=st.sampled_from(["kind", "k3d"]))
def test_every_generated_script_of_an_accepted_config_is_valid_shell(raw, engine, tmp_path):
    """Every generated step is parsed by /bin/sh (`sh -n`) and quotes each value: no value ever appears in it
    unquoted unless quoting would not change it."""
    try:
        config = from_raw({**raw, "engine": engine, "kubeContext": "", "dataDir": str(tmp_path / "d ata$`x`")},
                          machine="x86_64")
    except ConfigError:
        return
    step = engine_for(config)
    scripts = [step.create_command(registry_spec(config)), step.delete_command(), step.exists_command(),
               run_command(registry_spec(config)), readiness_command(config)]
    for script in scripts:
        checked = subprocess.run(["/bin/sh", "-n", "-c", script], capture_output=True, text=True, timeout=10)
        assert checked.returncode == 0, checked.stderr
        for value in (config.cluster_name, str(config.data_dir)):
            if value in script and shlex.quote(value) != value:
                assert shlex.quote(value) in script or shlex.quote(f"{value}/registry") in script


@pytest.mark.parametrize("engine,longest", [("kind", 50), ("k3d", 32), ("existing", 63)])
def test_cluster_names_up_to_each_engines_limit_are_accepted(engine, longest, tmp_path):
    """kind v0.29.0 (pkg/cluster/internal/create/create.go clusterNameMax = 50) and k3d v5.9.0
    (pkg/types/defaults.go DefaultClusterNameMaxLength = 32)."""
    raw = {"engine": engine, "dataDir": str(tmp_path)}
    assert from_raw({**raw, "clusterName": "k" * longest}, machine="x86_64").cluster_name == "k" * longest
    with pytest.raises(ConfigError, match=f"at most {longest} characters for engine {engine}"):
        from_raw({**raw, "clusterName": "k" * (longest + 1)}, machine="x86_64")
