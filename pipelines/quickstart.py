"""The classic KFP addition pipeline, with an optional argument `c` that has a default.

Its tasks never come from KFP's cache: on a cache hit the backend runs no executor pod
(backend/src/v2/compiler/argocompiler/container.go: the executor step runs `when` cached-decision != true), so
there would be no log to read the sum from, and no other API returns a task's output parameter.
"""
import re

from kfp import dsl

from pipelines.packaging import CLUSTER_PLAIN, Flavour, lightweight

PIPELINE_NAME = "quickstart-addition"
DEFAULT_C = 10
# KFP carries every number as a protobuf double (float64), between tasks as in the run's arguments
# (backend/src/v2/metadata/converter.go `TextToPbValue`), so an integer is exact only up to 2**53 in size.
EXACT_LIMIT = 2**53
RESULT_TASK = "add-2"   # KFP names the second call of `add` this way; its output is the pipeline's result
_LOGGED_SUM = re.compile(r"^sum: (-?\d+)$", re.MULTILINE)


def add(a: int, b: int) -> int:
    """Add two integers (int(): kfp.local may hand numbers over as floats); the sum is also logged, because the
    task's log is where a client reads it back from a cluster run (KFP's API does not return output parameters)."""
    total = int(a) + int(b)
    print(f"sum: {total}")
    return total


def logged_sum(log: str) -> int | None:
    """The sum `add` logged, from its task's pod log; None if the log holds none."""
    found = _LOGGED_SUM.findall(log)
    return int(found[-1]) if found else None


def build_quickstart_pipeline(flavour: Flavour = CLUSTER_PLAIN) -> dsl.graph_component.GraphComponent:
    """(a + b) + c, as two tasks, with `add` packaged as `flavour` (on the cluster: the kfp SDK, nothing else)."""
    addition = lightweight(add, flavour)

    @dsl.pipeline(name=PIPELINE_NAME, description="Add a and b, then add c (optional, default 10).")
    def quickstart_addition(a: int, b: int, c: int = DEFAULT_C) -> int:
        first = addition(a=a, b=b).set_caching_options(False)
        return addition(a=first.output, b=c).set_caching_options(False).output

    return quickstart_addition


quickstart_pipeline = build_quickstart_pipeline()
