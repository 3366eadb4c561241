"""The generated part of docs/architecture.md: the layers with their modules and imports, and the data flow from
config to the pipelines, read from the code (`tests/test_architecture.py` checks the committed copy is current).

    .venv/bin/python -m tests.support.architecture      # rewrite the block in docs/architecture.md
"""
from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

from tests.support.imports import LAYERS, ROOT, Module, modules, project_imports

DOC = ROOT / "docs" / "architecture.md"
START = "<!-- generated:start (by `python -m tests.support.architecture`) -->"
END = "<!-- generated:end -->"
# Where the data flow is read from: the config type, the program, the outputs, and what the pipelines parse them into.
CONFIG = ("infra/config.py", "StackConfig")
PROGRAM = ("infra/program.py", "main")
OUTPUTS = ("infra/outputs.py", ("host_endpoints", "stack_outputs"))
ENDPOINTS = ("pipelines/endpoints.py", "Endpoints", "pipelines.endpoints")


def group_of(name: str) -> str:
    """A box in the layer diagram: a layer's sub-package, or the layer itself for its top-level modules."""
    parts = name.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (ROOT / parts[0] / parts[1]).is_dir()):
        return ".".join(parts[:2])
    return parts[0]


def _node(group: str) -> str:
    return "m_" + group.replace(".", "_")


def layer_diagram(graph: dict[str, Module]) -> str:
    edges = Counter((group_of(m.name), group_of(t)) for m in graph.values() for t in project_imports(m, graph)
                    if group_of(m.name) != group_of(t))
    groups = sorted({group_of(name) for name in graph}, key=lambda g: (LAYERS.index(g.split(".")[0]), g))
    lines = ["```mermaid", "flowchart BT"]
    for layer in LAYERS:
        members = [g for g in groups if g.split(".")[0] == layer]
        lines.append(f'  subgraph layer_{layer}["{layer}"]')
        lines += [f'    {_node(g)}["{g if "." in g else f"{g}/*.py" if (ROOT / g).is_dir() else f"{g}.py"}"]'
                  for g in members]
        lines.append("  end")
    lines += [f"  {_node(a)} -->|{n}| {_node(b)}" for (a, b), n in sorted(edges.items())]
    return "\n".join([*lines, "```"])


def module_tables(graph: dict[str, Module]) -> str:
    out = []
    for layer in reversed(LAYERS):
        out += [f"### `{layer}`", "", "| module | what it is | imports from the project |", "|---|---|---|"]
        for name in sorted(n for n in graph if n.split(".")[0] == layer):
            module = graph[name]
            imports = ", ".join(f"`{i}`" for i in project_imports(module, graph)) or "-"
            out.append(f"| `{name}` | {module.doc.replace('|', '/')} | {imports} |")
        out.append("")
    return "\n".join(out).rstrip("\n")


def _tree(path: str) -> ast.Module:
    return ast.parse((ROOT / path).read_text())


def _named(tree: ast.Module, kind: type, name: str):
    found = [node for node in ast.walk(tree) if isinstance(node, kind) and node.name == name]
    if not found:
        raise SystemExit(f"{name} not found: update the data-flow anchors at the top of {__file__}")
    return found[0]


def _fields(path: str, cls: str) -> list[str]:
    node = _named(_tree(path), ast.ClassDef, cls)
    return [s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]


def _components(graph: dict[str, Module]) -> list[str]:
    """The program's components in the order it creates them, each with the fields of its Args."""
    classes = {node.name for name, m in graph.items() if name.startswith("infra.components.")
               for node in ast.parse(m.path.read_text()).body if isinstance(node, ast.ClassDef)}
    main = _named(_tree(PROGRAM[0]), ast.FunctionDef, PROGRAM[1])
    calls = sorted((node for node in ast.walk(main) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in classes and not node.func.id.endswith("Args")),
                   key=lambda node: (node.lineno, node.col_offset))
    shown = []
    for call in calls:
        args = [a for a in call.args if isinstance(a, ast.Call) and isinstance(a.func, ast.Name)]
        fields = [k.arg for a in args for k in a.keywords if k.arg]
        shown.append(f"`{call.func.id}`({', '.join(fields)})")
    return shown


def _output_keys() -> list[str]:
    tree = _tree(OUTPUTS[0])
    keys = []
    for function in OUTPUTS[1]:
        body = _named(tree, ast.FunctionDef, function)
        returned = [n.value for n in ast.walk(body) if isinstance(n, ast.Return) and isinstance(n.value, ast.Dict)]
        keys += [k.value for d in returned for k in d.keys if isinstance(k, ast.Constant)]
    return keys


def data_flow(graph: dict[str, Module]) -> str:
    readers = sorted(name for name, m in graph.items() if ENDPOINTS[2] in m.imports)
    rows = [
        ("config", f"`{CONFIG[1]}` ({CONFIG[0]}), validated once", ", ".join(_fields(*CONFIG))),
        ("components", f"created in this order by `{PROGRAM[1]}` ({PROGRAM[0]}), with their Args",
         " -> ".join(_components(graph))),
        ("outputs", f"the stack's outputs ({OUTPUTS[0]})", ", ".join(_output_keys())),
        ("endpoints", f"`{ENDPOINTS[1]}` ({ENDPOINTS[0]}), parsed from the outputs",
         ", ".join(_fields(*ENDPOINTS[:2]))),
        ("pipelines", "modules that take the endpoints", ", ".join(f"`{r}`" for r in readers)),
    ]
    lines = ["```mermaid", "flowchart LR"]
    lines += [f'  {step}["{step}"]' for step, _, _ in rows]
    lines += [f"  {a[0]} --> {b[0]}" for a, b in zip(rows, rows[1:], strict=False)]
    lines += ["```", "", "| step | what | fields |", "|---|---|---|"]
    lines += [f"| {step} | {what} | {fields} |" for step, what, fields in rows]
    return "\n".join(lines)


def generated(root: Path = ROOT) -> str:
    graph = modules(root)
    return "\n".join([START, "", "## Layers (lowest at the bottom; arrows are imports, with their count)", "",
                      layer_diagram(graph), "", "## Data flow", "", data_flow(graph), "", "## Modules", "",
                      module_tables(graph), "", END])


def write(doc: Path = DOC) -> None:
    text = doc.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{doc} has no generated block: put the lines {START} and {END} where it goes")
    head, rest = text.split(START, 1)
    doc.write_text(head + generated() + rest.split(END, 1)[1])


if __name__ == "__main__":
    write()
    print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
