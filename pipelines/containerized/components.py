"""The two image-based components. Their image reference is an argument: it comes from the build plan, which reads
the stack's outputs, so no registry address is ever written into a component."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Output

from pipelines.containerized.contexts import VALIDATE_COMMAND
from pipelines.packaging import BASE_IMAGE
from pipelines.wine.components import train_candidate


def train_component(image: str) -> dsl.base_component.BaseComponent:
    """The wine training step as a containerized Python component: the same function, run from `image` (its module and
    imports baked in, packages preinstalled) instead of being shipped as source and pip-installing at every task."""
    return dsl.component(train_candidate, base_image=BASE_IMAGE, target_image=image)


def validate_component(image: str) -> dsl.base_component.BaseComponent:
    """Data validation as a custom container component: a plain program in `image`, no KFP SDK inside.
    It takes the same inputs as the lightweight step, so the pipeline wires it the same way."""

    @dsl.container_component
    def validate_data(data: Input[Dataset], min_class_fraction: float, report: Output[Artifact]):
        return dsl.ContainerSpec(image=image, command=VALIDATE_COMMAND,
                                 args=["--data", data.path, "--min-class-fraction", min_class_fraction,
                                       "--report", report.path])

    return validate_data
