"""dataDir safety: kfp-laptop claims only a new, empty or already-marked folder (in the config check and again in the
generated shell step, run for real by /bin/sh), and `--purge` deletes only what it wrote there.

Property tests generate folder trees; each fails on a traceback, on a deleted file kfp-laptop did not write, or on a
run past its deadline."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.config import ConfigError, from_raw
from infra.data_dir import DATA_FOLDERS, MARKER, claim_command
from kfp_laptop.errors import UserError
from laptop import data_dir
from laptop.data_dir import purge_data_dir, purgeable

PROPERTY = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = st.sampled_from([*DATA_FOLDERS, MARKER, "notes.txt", "photos", ".git", "minio.bak", "Registry"])
# A tree: top-level name -> None (a file) or a set of file names inside a folder.
TREES = st.dictionaries(NAMES, st.none() | st.sets(st.sampled_from(["a", "b.db", ".hidden"]), max_size=3),
                        max_size=5)


def build(root: Path, tree: dict) -> Path:
    root.mkdir(parents=True)
    for name, inside in tree.items():
        if inside is None:
            (root / name).write_text(f"content of {name}")
        else:
            (root / name).mkdir()
            for child in inside:
                (root / name / child).write_text(child)
    return root


def snapshot(root: Path) -> dict[str, str | None]:
    return {str(p.relative_to(root)): (p.read_text() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def only_ours(tree: dict) -> bool:
    return tree.get(MARKER, 0) is None and all(
        (name == MARKER and inside is None) or (name in DATA_FOLDERS and inside is not None)
        for name, inside in tree.items())


@PROPERTY
@given(tree=TREES)
def test_purge_deletes_a_folder_only_when_it_holds_nothing_but_what_kfp_laptop_wrote(tmp_path_factory, tree):
    root = build(tmp_path_factory.mktemp("purge") / "data", tree)
    before = snapshot(root)
    if only_ours(tree):
        assert purge_data_dir(root) is True and not root.exists()
        return
    with pytest.raises(UserError) as err:
        purge_data_dir(root)
    assert err.value.problem.startswith(f"refusing to delete {root}: ")
    assert "sudo" not in err.value.fix and "rm -rf" not in err.value.fix
    assert snapshot(root) == before, "a refused purge leaves every file as it was"


def test_purge_of_a_missing_folder_deletes_nothing(tmp_path):
    assert purge_data_dir(tmp_path / "never-created") is False


def test_links_are_never_followed(tmp_path):
    """A data folder that is a link to the user's files is not ours, however it is named."""
    precious = build(tmp_path / "precious", {"a.txt": None})
    root = build(tmp_path / "data", {MARKER: None})
    (root / "minio").symlink_to(precious)
    with pytest.raises(UserError, match="it also holds minio"):
        purge_data_dir(root)
    (root / "minio").unlink()
    (tmp_path / "link").symlink_to(root)
    with pytest.raises(UserError, match="not a folder kfp-laptop created"):
        purgeable(tmp_path / "link")
    assert (precious / "a.txt").is_file()


def test_files_a_container_user_owns_are_deleted_through_docker(tmp_path, fake_tools, monkeypatch):
    """As root (this machine's test user) no file refuses deletion, so rmtree's PermissionError is stood in for;
    docker is a stand-in that records its arguments and deletes as the container would."""
    root = build(tmp_path / "data", {MARKER: None, "mysql": {"ibdata1"}})
    log = tmp_path / "docker.log"
    fake_tools.add("docker", f'echo "$@" > {log}; rm -rf {root}/mysql')

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(data_dir.shutil, "rmtree", refuse)
    assert purge_data_dir(root) is True and not root.exists()
    assert log.read_text().split() == ["run", "--rm", "--entrypoint", "rm", "-v", f"{root}:/data", "registry:2.8.3",
                                       "-rf", "/data/mysql"]


def test_when_docker_cannot_delete_them_the_message_says_to_start_docker_not_sudo(tmp_path, fake_tools, monkeypatch):
    root = build(tmp_path / "data", {MARKER: None, "minio": {"part.1"}})
    fake_tools.fails("docker", "Cannot connect to the Docker daemon")
    monkeypatch.setattr(data_dir.shutil, "rmtree", lambda path: (_ for _ in ()).throw(PermissionError(13, "denied")))
    with pytest.raises(UserError) as err:
        purge_data_dir(root)
    assert err.value.problem == "`docker run` failed (exit 1): Cannot connect to the Docker daemon"
    assert "start Docker" in err.value.fix and "sudo" not in err.value.fix
    assert (root / MARKER).is_file() and (root / "minio" / "part.1").is_file()


@PROPERTY
@given(tree=TREES)
def test_config_and_the_create_step_claim_the_same_folders(tmp_path_factory, tree):
    """The config check (at preview) and the shell step (at create, run by /bin/sh) agree: an absent, empty or
    marked folder is claimed and marked; one with other files is refused and left as it was."""
    base = tmp_path_factory.mktemp("claim")
    root = build(base / "my data", tree) if tree else base / "my data"
    before = snapshot(root) if root.exists() else None
    try:
        from_raw({"dataDir": str(root)})
        accepted = True
    except ConfigError as err:
        accepted = False
        assert "kfp-laptop did not write" in str(err)
    done = subprocess.run(["/bin/sh", "-c", "set -eu\n" + claim_command(root)], capture_output=True, text=True,
                          timeout=10)
    assert (done.returncode == 0) == accepted, done.stderr
    if accepted:
        assert (root / MARKER).is_file()
    else:
        assert "already holds files kfp-laptop did not write" in done.stderr
        assert snapshot(root) == before
