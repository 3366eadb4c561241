"""The classic KFP addition pipeline, with an optional argument `c` that has a default."""
from kfp import dsl

from pipelines.packaging import CLUSTER, Flavour, lightweight

PIPELINE_NAME = "quickstart-addition"


def add(a: int, b: int) -> int:
    """Add two integers (int(): kfp.local may hand numbers over as floats)."""
    return int(a) + int(b)


def build_quickstart_pipeline(flavour: Flavour = CLUSTER) -> dsl.graph_component.GraphComponent:
    """(a + b) + c, as two tasks, with `add` packaged as `flavour`."""
    addition = lightweight(add, flavour)

    @dsl.pipeline(name=PIPELINE_NAME, description="Add a and b, then add c (optional, default 10).")
    def quickstart_addition(a: int, b: int, c: int = 10) -> int:
        first = addition(a=a, b=b)
        return addition(a=first.output, b=c).output

    return quickstart_addition


quickstart_pipeline = build_quickstart_pipeline()
