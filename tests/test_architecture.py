"""The structure docs/architecture.md describes, checked from the code itself (`tests.support.imports` reads every
import with `ast`): the committed drawing is current, and no installed package shadows one of ours."""
from __future__ import annotations

import ast
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.support import architecture
from tests.support.imports import LAYERS, ROOT, cycles, layer_violations, module_files, modules


def test_docs_architecture_is_generated_from_the_code_as_it_is_now():
    text = architecture.DOC.read_text()
    assert architecture.START in text and architecture.END in text
    assert architecture.generated() in text, "docs/architecture.md is stale: run `python -m tests.support.architecture`"


def test_no_installed_distribution_provides_a_top_level_name_of_ours():
    """A dependency that ships a top-level package of ours would shadow it (or be shadowed) in `.venv`: the reason
    `watchdog` became `kfp_watchdog`."""
    provided = packages_distributions()
    clashes = {name: provided[name] for name in LAYERS if set(provided.get(name, ())) - {"kfp-laptop", "kfp_laptop"}}
    assert not clashes


def test_every_layer_has_modules_and_every_module_a_docstring():
    files = module_files()
    assert {name.split(".")[0] for name in files} == set(LAYERS)
    assert not [name for name, module in architecture.modules().items() if not module.doc]


def test_no_module_imports_from_a_higher_layer_and_watchdog_only_the_standard_library():
    assert not layer_violations(modules())


def test_the_layer_check_sees_an_upward_import_even_inside_a_function(tmp_path):
    """The check must be able to fail: an infra module importing laptop from inside a function, and watchdog
    importing a third-party package, are both reported."""
    for path, text in {"infra/__init__.py": "", "infra/a.py": "def f():\n    from laptop import b\n",
                       "laptop/__init__.py": "", "laptop/b.py": "",
                       "kfp_watchdog/__init__.py": "import yaml\n"}.items():
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_text(text)
    assert layer_violations(modules(tmp_path)) == [
        "kfp_watchdog (kfp_watchdog, standard library only) imports yaml",
        "infra.a (infra) imports laptop.b (laptop, a higher layer)"]


def test_no_import_cycle_between_modules():
    assert not cycles(modules())


def test_the_cycle_check_sees_a_loop_held_together_by_a_function_local_import(tmp_path):
    """As engine/kind once did: kind imports engine at the top, engine imports kind inside a function."""
    (tmp_path / "infra").mkdir()
    for path, text in {"__init__.py": "", "engine.py": "def engine_for():\n    from infra.kind import Kind\n",
                       "kind.py": "from infra.engine import engine_for\n", "other.py": "import infra.kind\n"}.items():
        (tmp_path / "infra" / path).write_text(text)
    assert cycles(modules(tmp_path)) == [["infra.engine", "infra.kind"]]


def test_test_modules_share_stand_ins_through_tests_support_only():
    """No test module imports another (or conftest) for its helpers, and only tests/support/http.py runs an HTTP
    server, so each stand-in exists once. The engine tier (tests/engine/) is the exception for servers: it runs in a
    network namespace of its own and answers on the fake pods' addresses there, which the 127.0.0.1-only `serve`
    fixture must never bind."""
    problems = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        relative = path.relative_to(ROOT)
        imported = {name for node in ast.walk(ast.parse(path.read_text())) for name in
                    ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])}
        problems += [f"{relative} imports {name}" for name in sorted(imported)
                     if name.startswith(("tests.test_", "tests.e2e.test_", "tests.conftest"))]
        if "http.server" in imported and relative != Path("tests/support/http.py") \
                and relative.parts[:2] != ("tests", "engine"):
            problems.append(f"{relative} runs its own HTTP server: use the `serve` fixture (tests/support/http.py)")
    assert not problems
