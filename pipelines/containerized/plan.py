"""The build plan: which images exist, what goes into each, for which platform and registry. Pure data."""
from __future__ import annotations

from pipelines.containerized.contexts import module_file, python_component_context, validate_context
from pipelines.containerized.image_target import Target
from pipelines.containerized.images import ImageBuild
from pipelines.wine.components import train_candidate

TRAIN_IMAGE = "wine-train"          # containerized Python component: the wine training step, in its own image
VALIDATE_IMAGE = "wine-validate"    # custom container component: the data-validation program


def build_plan(target: Target) -> list[ImageBuild]:
    """Every component image, for the stack's platform, named in the stack's registry."""
    contexts = {
        TRAIN_IMAGE: python_component_context(train_candidate.__name__, module_file(train_candidate.__module__)),
        VALIDATE_IMAGE: validate_context(),
    }
    return [ImageBuild(name=name, registry=target.registry, platform=target.platform, files=files)
            for name, files in contexts.items()]


def image_refs(target: Target) -> dict[str, str]:
    """Image name -> `localhost:<port>/kfp-laptop/<name>:<content tag>`, exactly what `inv build-components` pushes."""
    return {image.name: image.ref for image in build_plan(target)}
