"""`inv build-components`: build the component images for the stack's arch and push the missing ones to its registry."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from rich.console import Console
from rich.table import Table

from pipelines.containerized import docker_cli
from pipelines.containerized.image_target import Target
from pipelines.containerized.images import ImageBuild
from pipelines.containerized.plan import build_plan
from pipelines.containerized.registry_client import manifest_exists, require_registry

BUILT = "built and pushed"
SKIPPED = "skipped: already in the registry"


@dataclass(frozen=True)
class Outcome:
    image: ImageBuild
    action: str


def build_and_push(stack: str | None = None) -> list[Outcome]:
    """Resolve the stack's registry and arch, check docker, then build and push every image whose tag is missing."""
    from laptop.stack import stack_outputs

    target = Target.from_outputs(stack_outputs(stack))
    buildx = docker_cli.require_docker()
    console = Console()

    def build(context: Path, image: ImageBuild) -> None:
        console.print(f"[bold]building[/] {image.name} for {image.platform} -> {image.ref}", highlight=False)
        for argv in docker_cli.build_commands(image.ref, image.platform, context, buildx):
            docker_cli.run(argv)

    outcomes = push_missing(build_plan(target), target, build)
    console.print(outcomes_table(outcomes, target))
    return outcomes


def push_missing(plan: Sequence[ImageBuild], target: Target,
                 build: Callable[[Path, ImageBuild], None]) -> list[Outcome]:
    """For each image: skip it when the registry has its content tag, else write its context and `build` it."""
    require_registry(target.api_base)
    outcomes = []
    for image in plan:
        if manifest_exists(target.api_base, image.repository, image.tag):
            outcomes.append(Outcome(image, SKIPPED))
            continue
        with tempfile.TemporaryDirectory(prefix=f"kfp-laptop-{image.name}-") as tmp:
            write_context(image, Path(tmp))
            build(Path(tmp), image)
        outcomes.append(Outcome(image, BUILT))
    return outcomes


def write_context(image: ImageBuild, folder: Path) -> None:
    for relative, text in image.files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def outcomes_table(outcomes: Sequence[Outcome], target: Target) -> Table:
    table = Table(title=f"component images for {target.platform} in {target.registry}")
    for column in ("component", "image", "action"):
        table.add_column(column)
    for outcome in outcomes:
        table.add_row(outcome.image.name, outcome.image.ref, outcome.action)
    return table
