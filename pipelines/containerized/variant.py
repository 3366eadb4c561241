"""The containerized wine pipeline: the wine pipeline's own shape, with the training and validation steps taken from
images in the stack's registry. It runs on the stack's KFP only (see docs/containerized.md)."""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from kfp import dsl

from kfp_laptop.errors import UserError
from laptop.outputs import StackOutputs
from pipelines.containerized.components import train_component, validate_component
from pipelines.containerized.image_target import Target
from pipelines.containerized.plan import TRAIN_IMAGE, VALIDATE_IMAGE, build_plan
from pipelines.containerized.registry_client import manifest_exists, require_registry
from pipelines.packaging import CLUSTER
from pipelines.wine.components import WineComponents, components
from pipelines.wine.pipeline import DEFAULT_PARALLELISM, build_wine_pipeline


def containerized_components(target: Target) -> WineComponents:
    """The cluster components with `train` and `validate` swapped for their image-based versions."""
    refs = {image.name: image.ref for image in build_plan(target)}
    return replace(components(CLUSTER), train=train_component(refs[TRAIN_IMAGE]),
                   validate=validate_component(refs[VALIDATE_IMAGE]))


def containerized_pipeline(outputs: StackOutputs | Mapping,
                           parallelism: int = DEFAULT_PARALLELISM) -> dsl.graph_component.GraphComponent:
    """The wine pipeline whose images are named after the stack's `registry` and built for its `cluster.arch`."""
    return build_wine_pipeline(containerized_components(Target.from_outputs(outputs)), parallelism)


def require_pushed(target: Target) -> None:
    """Before submitting: every image the variant names is in the registry, else say which command pushes them."""
    require_registry(target.api_base)
    missing = [image.ref for image in build_plan(target)
               if not manifest_exists(target.api_base, image.repository, image.tag)]
    if missing:
        raise UserError(f"the containerized components are not in the stack's registry yet: {', '.join(missing)}",
                        "run `inv build-components` (it builds and pushes them), then run this again")


LOCAL_NOTE = ("--containerized: the images live in the stack's registry, so kfp.local runs the same train and "
              "validate logic as lightweight components (SubprocessRunner)")


def cluster_pipeline(outputs: StackOutputs, parallelism: int) -> dsl.graph_component.GraphComponent:
    """What `inv run-wine --containerized` submits: the variant for the stack (its outputs, as the run already read
    them), once its images are pushed."""
    target = Target.from_outputs(outputs)
    require_pushed(target)
    return build_wine_pipeline(containerized_components(target), parallelism)
