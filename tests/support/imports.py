"""The project's import graph, read from the code with `ast` (every import, function-local and TYPE_CHECKING ones
included), and the layers it must respect. `tests/test_architecture.py` checks it; `tests.support.architecture`
draws it into docs/architecture.md."""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lowest first: a module may import its own layer and the ones below it, never one above (docs/architecture.md).
LAYERS = ("kfp_laptop", "kfp_watchdog", "infra", "laptop", "pipelines", "tasks")
# Deployed alone into the cluster from a ConfigMap onto a plain python image: nothing but the standard library.
STDLIB_ONLY = ("kfp_watchdog",)


@dataclass(frozen=True)
class Module:
    name: str        # dotted, e.g. infra.cluster.engine
    path: Path
    doc: str         # the docstring's first sentence
    imports: tuple[str, ...]    # every module it imports (project and third-party), sorted


def layer_of(module: str) -> str:
    return module.split(".")[0]


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of every layer, by dotted name."""
    found = {}
    for top in LAYERS:
        package, single = root / top, root / f"{top}.py"
        paths = sorted(package.rglob("*.py")) if package.is_dir() else [single] if single.is_file() else []
        for path in paths:
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _first_sentence(tree: ast.Module) -> str:
    doc = " ".join((ast.get_docstring(tree) or "").split())
    return doc.split(". ")[0].rstrip(".")


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The modules one import statement names; `from a import b` is module a.b when that is a module, else a."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]


def modules(root: Path = ROOT) -> dict[str, Module]:
    files = module_files(root)
    known = set(files)
    result = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        names = {imported for node in ast.walk(tree)
                 for imported in _imported(node, name, path.name == "__init__.py", known)}
        result[name] = Module(name, path, _first_sentence(tree), tuple(sorted(names - {name})))
    return result


def project_imports(module: Module, known: dict[str, Module]) -> list[str]:
    """The project modules it imports (`import a.b` of a package counts as its module a.b)."""
    return [name for name in module.imports if name in known]


def layer_violations(graph: dict[str, Module]) -> list[str]:
    """Each import from a higher layer into a lower one, and each non-stdlib import of a stdlib-only layer."""
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    problems = []
    for module in graph.values():
        own = layer_of(module.name)
        for imported in module.imports:
            top = layer_of(imported)
            if top in rank and rank[top] > rank[own]:
                problems.append(f"{module.name} ({own}) imports {imported} ({top}, a higher layer)")
            elif own in STDLIB_ONLY and top != own and top not in sys.stdlib_module_names and top != "__future__":
                problems.append(f"{module.name} ({own}, standard library only) imports {imported}")
    return problems


def cycles(graph: dict[str, Module]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted: the import cycles."""
    edges = {name: project_imports(module, graph) for name, module in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return sorted(found)
