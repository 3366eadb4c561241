"""The wine pipeline's shape, built from any set of `WineComponents` (lightweight locally or on the cluster, or the
image-based ones of the containerized variant), because a ParallelFor's `parallelism` is fixed when the pipeline is
built, not a run argument."""
from typing import List, NamedTuple

from kfp import dsl

from pipelines.wine.components import WineComponents, components

PIPELINE_NAME = "wine-tuning"
DEFAULT_NEIGHBORS = [1, 3, 5, 7, 9, 11, 15]
DEFAULT_PARALLELISM = 3
DEFAULT_TEST_SIZE = 0.25
DEFAULT_RANDOM_STATE = 42
DEFAULT_FOLDS = 5
DEFAULT_MIN_CLASS_FRACTION = 0.2
# The bundled wine data's size, so arguments the data cannot bear are refused before a run (checked in tests).
WINE_ROWS = 178
WINE_CLASSES = 3


def build_wine_pipeline(steps: WineComponents,
                        parallelism: int = DEFAULT_PARALLELISM) -> dsl.graph_component.GraphComponent:
    """The wine tuning pipeline over `steps`, tuning at most `parallelism` candidates at once."""

    @dsl.pipeline(name=PIPELINE_NAME,
                  description="Tune a scaled KNN on the wine data set in parallel, select the best candidate, "
                              "evaluate it on a held-out split.")
    def wine_tuning(neighbors: List[int] = DEFAULT_NEIGHBORS, test_size: float = DEFAULT_TEST_SIZE,
                    random_state: int = DEFAULT_RANDOM_STATE, folds: int = DEFAULT_FOLDS,
                    min_class_fraction: float = DEFAULT_MIN_CLASS_FRACTION,
                    ) -> NamedTuple("Outputs", best_model=dsl.Model, summary=dsl.Artifact):
        data = steps.load()
        validated = steps.validate(data=data.outputs["data"], min_class_fraction=min_class_fraction)
        split = steps.split(data=data.outputs["data"], test_size=test_size, random_state=random_state)
        split.after(validated)
        with dsl.ParallelFor(neighbors, parallelism=parallelism, name="tune") as n_neighbors:
            trained = steps.train(train=split.outputs["train"], n_neighbors=n_neighbors)
            scored = steps.score(model=trained.outputs["model"], train=split.outputs["train"], folds=folds)
        best = steps.select(candidates=dsl.Collected(scored.outputs["scored"]))
        evaluated = steps.evaluate(model=best.outputs["best"], test=split.outputs["test"])
        # Never from cache: a cached task's outputs stay under the earlier run's path in MinIO, and the CLI reads
        # the summary under this run's (KFP's driver reuses cached artifacts as they are).
        evaluated.set_caching_options(False)
        outputs = NamedTuple("Outputs", best_model=dsl.Model, summary=dsl.Artifact)
        return outputs(best_model=best.outputs["best"], summary=evaluated.outputs["summary"])

    return wine_tuning


# What `inv compile` writes and the cluster runs: lightweight components that pip-install their pinned packages.
wine_pipeline = build_wine_pipeline(components())
