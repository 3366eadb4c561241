"""The README and docs/ as a newcomer meets them: short, every link lands, every command exists as written.

A command block either holds only `python3 dev.py TASK ...` / `inv TASK ...` lines, each checked against the real
invoke tasks and their flags, or is marked `<!-- needs: ... -->` on the line before it (it needs a cluster or tools
this machine lacks); its `inv`/`dev.py` lines are checked all the same.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from invoke import Collection

import tasks
from tests.support.imports import ROOT

README = ROOT / "README.md"
PAGES = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
BLOCK = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>bash|sh)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
NEEDS = "<!-- needs:"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def task_flags() -> dict[str, set[str]]:
    """Every invoke task by its command-line name, with the flags it accepts."""
    collection = Collection.from_module(tasks)
    flags = {}
    for name in collection.task_names:
        names = {n for argument in collection[name].get_arguments() for n in argument.names}
        flags[name] = {"--help", "-h"} | {f"--{n.replace('_', '-')}" if len(n) > 1 else f"-{n}" for n in names}
    return flags


def command_blocks(page: Path) -> list[tuple[bool, list[str]]]:
    """(marked as needing a cluster/tools, command lines) for each shell block."""
    text = page.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[:match.start()].rstrip().splitlines()
        marked = bool(before) and before[-1].strip().startswith(NEEDS)
        lines = [line.split(" #")[0].strip() for line in match["body"].splitlines()]
        blocks.append((marked, [line for line in lines if line and not line.startswith("#")]))
    return blocks


def task_command(line: str) -> list[str] | None:
    """The words after `inv` / `python3 dev.py`, or None for any other command."""
    words = shlex.split(line)
    if words[:1] == ["inv"]:
        return words[1:]
    if words[:2] == ["python3", "dev.py"]:
        return words[2:]
    return None


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target} (no heading #{anchor})")
    return broken


def command_problems(page: Path, flags: dict[str, set[str]]) -> list[str]:
    problems = []
    for marked, lines in command_blocks(page):
        for line in lines:
            words = task_command(line)
            if words is None:
                if not marked:
                    problems.append(f"`{line}` is not a task: mark its block `{NEEDS} ... -->`")
                continue
            if not words or words == ["--list"]:
                continue
            task, given = words[0], [w.split("=")[0] for w in words[1:] if w.startswith("-")]
            if task not in flags:
                problems.append(f"`{line}`: no task {task!r}")
            problems += [f"`{line}`: {task} has no flag {flag}" for flag in given if flag not in flags.get(task, ())]
    return problems


def test_the_readme_is_short():
    assert len(README.read_text().splitlines()) <= 200


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    assert not broken_links(page)


def test_every_readme_command_block_is_runnable_or_marked():
    assert command_blocks(README)
    assert not command_problems(README, task_flags())


def test_the_two_commands_are_in_the_readme_and_ci_runs_the_test_one():
    commands = [line for _, lines in command_blocks(README) for line in lines]
    assert "python3 dev.py run-wine" in commands and "python3 dev.py test" in commands
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == "python3 dev.py test"


def test_the_checks_catch_a_broken_link_an_unknown_task_or_flag_and_an_unmarked_command(tmp_path):
    """The checks above are only worth something if they can fail."""
    page = tmp_path / "page.md"
    page.write_text("# Top part\n[ok](#top-part) [gone](missing.md) [bad](#nowhere)\n\n"
                    "```bash\ninv run-wine --local   # fine\ninv no-such-task\npython3 dev.py run-wine --bogus\n"
                    "pulumi up\n```\n\n<!-- needs: a cluster -->\n```bash\nkubectl get pods\n```\n")
    assert broken_links(page) == ["missing.md (no such file)", "#nowhere (no heading #nowhere)"]
    assert command_problems(page, task_flags()) == [
        "`inv no-such-task`: no task 'no-such-task'", "`python3 dev.py run-wine --bogus`: run-wine has no flag --bogus",
        f"`pulumi up` is not a task: mark its block `{NEEDS} ... -->`"]
