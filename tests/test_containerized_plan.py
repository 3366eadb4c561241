"""The build plan as data: image references come from the stack outputs, contexts hold what the images need, and the
content tags are stable when nothing changed and move when a component's source, packages or platform do."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import kfp
import pytest

from pipelines.containerized import contexts
from pipelines.containerized.image_target import Target
from pipelines.containerized.images import ImageBuild, content_tag
from pipelines.containerized.plan import TRAIN_IMAGE, VALIDATE_IMAGE, build_plan, image_refs
from pipelines.packaging import BASE_IMAGE, PINNED_PACKAGES

OUTPUTS = {"registry": "localhost:5001", "cluster": {"engine": "kind", "name": "kfp", "context": "kind-kfp",
                                                      "arch": "arm64"}}
PACKAGE = Path(contexts.__file__).parent


def _plan(outputs=OUTPUTS) -> dict[str, ImageBuild]:
    return {image.name: image for image in build_plan(Target.from_outputs(outputs))}


def test_image_refs_follow_the_registry_output():
    before = image_refs(Target.from_outputs(OUTPUTS))
    after = image_refs(Target.from_outputs({**OUTPUTS, "registry": "localhost:5123"}))
    assert set(before) == {TRAIN_IMAGE, VALIDATE_IMAGE}
    for name in before:
        assert re.fullmatch(rf"localhost:5001/kfp-laptop/{name}:[0-9a-f]{{16}}", before[name])
        assert after[name] == before[name].replace("localhost:5001/", "localhost:5123/")


def test_no_registry_address_is_written_into_the_package():
    """The registry is only ever read from the stack outputs: no host:port literal in any module of the package."""
    literal = re.compile(r"(localhost|127\.0\.0\.1):\d+")
    offenders = [path.name for path in PACKAGE.rglob("*.py") if literal.search(path.read_text())]
    assert offenders == []


def test_the_plan_targets_the_clusters_platform_and_is_stable():
    first, again = _plan(), _plan()
    assert {image.platform for image in first.values()} == {"linux/arm64"}
    shown = {n: (i.ref, dict(i.files)) for n, i in first.items()}
    assert shown == {n: (i.ref, dict(i.files)) for n, i in again.items()}
    amd = _plan({**OUTPUTS, "cluster": {**OUTPUTS["cluster"], "arch": "amd64"}})
    assert {image.platform for image in amd.values()} == {"linux/amd64"}
    assert all(amd[name].tag != first[name].tag for name in first), "an arm64 tag must never serve an amd64 cluster"


def test_the_train_context_is_what_kfp_component_build_would_make():
    files = _plan()[TRAIN_IMAGE].files
    dockerfile = files["Dockerfile"].splitlines()
    assert dockerfile[0] == f"FROM {BASE_IMAGE}"
    assert f"WORKDIR {contexts.COMPONENT_ROOT}" in dockerfile
    assert files["runtime-requirements.txt"].split() == [f"kfp=={kfp.__version__}", *PINNED_PACKAGES]
    assert "train_candidate = pipelines/wine/components.py" in files["kfp_config.ini"]
    # The component's module and every project module it imports, so the image runs the same code as lightweight.
    assert {"pipelines/wine/components.py", "pipelines/wine/logic.py", "pipelines/packaging.py",
            "pipelines/__init__.py", "pipelines/wine/__init__.py"} <= set(files)
    assert files["pipelines/wine/logic.py"] == (contexts.PROJECT_ROOT / "pipelines/wine/logic.py").read_text()


def test_the_validate_context_is_a_small_program_without_the_kfp_sdk():
    files = _plan()[VALIDATE_IMAGE].files
    assert files["Dockerfile"].splitlines()[0] == f"FROM {BASE_IMAGE}"
    assert contexts.VALIDATE_SCRIPT in files and "pipelines/wine/logic.py" in files
    assert files["requirements.txt"].split() == [p for p in PINNED_PACKAGES if p.startswith(("pandas==", "pyarrow=="))]
    assert "kfp" not in files["requirements.txt"] and "pipelines/wine/components.py" not in files


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the project's `pipelines` package that the plan reads instead of the real one."""
    shutil.copytree(contexts.PROJECT_ROOT / "pipelines", tmp_path / "pipelines",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(contexts, "PROJECT_ROOT", tmp_path)
    return tmp_path


def test_tags_move_when_a_components_source_changes(project_copy):
    before = _plan()
    assert {n: i.tag for n, i in before.items()} == {n: i.tag for n, i in _plan().items()}
    with (project_copy / "pipelines/wine/logic.py").open("a") as logic:
        logic.write("\n# a change in the shared logic\n")
    after = _plan()
    assert after[TRAIN_IMAGE].tag != before[TRAIN_IMAGE].tag
    assert after[VALIDATE_IMAGE].tag != before[VALIDATE_IMAGE].tag

    with (project_copy / "pipelines/wine/components.py").open("a") as components:
        components.write("\n# a change in the components only\n")
    last = _plan()
    assert last[TRAIN_IMAGE].tag != after[TRAIN_IMAGE].tag
    assert last[VALIDATE_IMAGE].tag == after[VALIDATE_IMAGE].tag, "validation does not ship components.py"


def test_sources_follow_every_import_form_into_the_project(project_copy):
    (project_copy / "kfp_laptop").mkdir()
    for name in ("__init__.py", "errors.py"):
        (project_copy / "kfp_laptop" / name).write_text("")
    (project_copy / "pipelines/extra.py").write_text(
        "import json\nimport pipelines.packaging\nfrom pipelines.wine import logic\n"
        "from pipelines.wine.logic import pick_best\n\n\ndef later():\n    from kfp_laptop.errors import UserError\n")
    assert set(contexts.project_sources("pipelines/extra.py")) == {
        "pipelines/extra.py", "pipelines/__init__.py", "pipelines/packaging.py", "pipelines/wine/__init__.py",
        "pipelines/wine/logic.py", "kfp_laptop/__init__.py", "kfp_laptop/errors.py"}


def test_tags_move_when_the_pinned_packages_change(monkeypatch):
    before = _plan()
    monkeypatch.setattr(contexts, "PINNED_PACKAGES", (*PINNED_PACKAGES, "joblib==1.5.2"))
    assert _plan()[TRAIN_IMAGE].tag != before[TRAIN_IMAGE].tag


def test_content_tag_depends_on_every_path_and_byte():
    base = {"Dockerfile": "FROM x\n", "a.py": "print(1)\n"}
    tag = content_tag(base, "linux/amd64")
    assert tag == content_tag(dict(reversed(base.items())), "linux/amd64")
    assert tag != content_tag({**base, "a.py": "print(2)\n"}, "linux/amd64")
    assert tag != content_tag({"Dockerfile": "FROM x\n", "b.py": "print(1)\n"}, "linux/amd64")
    assert tag != content_tag(base, "linux/arm64")
