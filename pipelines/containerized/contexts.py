"""Build contexts (file name -> text) of the two component images, generated from this project's sources.

Both images carry the project's own modules that their code imports (the wine logic and components, found by reading
the imports), so the logic is the same code that runs lightweight, never a copy. Any change in those files, the
pinned packages or the base image changes the context and so the image's content tag.
"""
from __future__ import annotations

import ast
import tempfile
import warnings
from pathlib import Path

import kfp
from kfp.dsl.kfp_config import KFPConfig

from pipelines.packaging import BASE_IMAGE, PINNED_PACKAGES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Where `kfp component build` puts a containerized component's sources; its executor reads kfp_config.ini from here.
COMPONENT_ROOT = "/usr/local/src/kfp/components"
VALIDATE_ROOT = "/app"
VALIDATE_SCRIPT = "pipelines/containerized/validate_entry.py"
VALIDATE_COMMAND = ["python3", f"{VALIDATE_ROOT}/{VALIDATE_SCRIPT}"]
# The validation program reads parquet with pandas; it needs nothing else from the pins.
VALIDATE_PACKAGES = tuple(pin for pin in PINNED_PACKAGES if pin.split("==")[0] in ("pandas", "pyarrow"))


def module_file(module: str) -> str:
    """`pipelines.wine.logic` -> `pipelines/wine/logic.py` (or the package's `__init__.py`), relative to the project."""
    path = Path(*module.split("."))
    return str(path / "__init__.py") if (PROJECT_ROOT / path).is_dir() else f"{path}.py"


def imported_modules(source: str) -> set[str]:
    """Absolute module names a source file imports, anywhere in it (`from a.b import c` yields a.b and a.b.c)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def project_sources(entry: str) -> dict[str, str]:
    """The project files `entry` (relative path) needs at run time: itself, every module of this project it imports,
    recursively, and the packages' `__init__.py` files on the way. Third-party imports have no file here: skipped."""
    sources: dict[str, str] = {}
    pending = [entry]
    while pending:
        relative = pending.pop()
        if relative in sources or not (PROJECT_ROOT / relative).is_file():
            continue   # already taken, third-party, or `from pipelines.x import name` where name is no module
        sources[relative] = (PROJECT_ROOT / relative).read_text()
        parts = Path(relative).with_suffix("").parts
        pending += [module_file(".".join(parts[:i])) for i in range(1, len(parts))]
        pending += [module_file(name) for name in imported_modules(sources[relative])]
    return sources


def dockerfile(workdir: str, requirements: str, env: dict[str, str] | None = None) -> str:
    """Packages before sources, so a code change rebuilds only the last layer."""
    lines = [f"FROM {BASE_IMAGE}", f"WORKDIR {workdir}", *(f"ENV {key}={value}" for key, value in (env or {}).items()),
             f"COPY {requirements} {requirements}", f"RUN pip install --no-cache-dir -r {requirements}", "COPY . ."]
    return "\n".join(lines) + "\n"


def kfp_config_ini(function_name: str, module_path: str) -> str:
    """kfp_config.ini as the KFP SDK writes it: which file defines `function_name` (read by kfp.dsl.executor_main)."""
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")   # KFPConfig warns that the fresh folder has no config yet: expected here
        config = KFPConfig(config_directory=Path(tmp))
        config.add_component(function_name=function_name, path=Path(module_path))
        config.save()
        return (Path(tmp) / "kfp_config.ini").read_text()


def python_component_context(function_name: str, module_path: str) -> dict[str, str]:
    """What `kfp component build` would generate for a containerized Python component: the component's module
    (plus the project modules it imports), kfp_config.ini, runtime-requirements.txt with the SDK, and the Dockerfile."""
    requirements = [f"kfp=={kfp.__version__}", *PINNED_PACKAGES]
    return {
        **project_sources(module_path),
        "kfp_config.ini": kfp_config_ini(function_name, module_path),
        "runtime-requirements.txt": "\n".join(requirements) + "\n",
        "Dockerfile": dockerfile(COMPONENT_ROOT, "runtime-requirements.txt"),
    }


def validate_context() -> dict[str, str]:
    """The data-validation container: a small program (VALIDATE_SCRIPT) over the wine logic, pandas and pyarrow."""
    return {
        **project_sources(VALIDATE_SCRIPT),
        "requirements.txt": "\n".join(VALIDATE_PACKAGES) + "\n",
        "Dockerfile": dockerfile(VALIDATE_ROOT, "requirements.txt", env={"PYTHONPATH": VALIDATE_ROOT}),
    }
