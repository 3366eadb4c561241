"""The wine pipeline's components: thin I/O wrappers (artifacts in, artifacts out) around `logic`.

Each function below is what a task runs; `components(flavour)` turns them into KFP components with the logic
helpers shipped in their source, so a pod needs only the pinned PyPI packages, not this project.
Data moves between tasks as parquet (columnar, typed); models as joblib files with their hyperparameters in metadata.
Artifact metadata holds flat numbers and strings only (`logic.model_metadata` says why): the KFP backend hands a
dict or a list in metadata to the next task wrapped, and nothing unwraps it.
(No `from __future__ import annotations` here: KFP reads the real annotation objects.)
"""
from dataclasses import dataclass
from typing import List

from kfp import dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from pipelines.packaging import CLUSTER, Flavour, lightweight
from pipelines.wine.logic import (
    class_fractions,
    cross_validated_accuracy,
    evaluation,
    features_and_target,
    fit_candidate,
    hyperparameters,
    load_wine_frame,
    model_metadata,
    pick_best,
    scaled_knn,
    split_frame,
    validation_problems,
)

HELPERS = (load_wine_frame, validation_problems, class_fractions, split_frame, features_and_target, scaled_knn,
           fit_candidate, cross_validated_accuracy, pick_best, model_metadata, hyperparameters, evaluation)


def load_data(data: Output[Dataset]):
    """Write scikit-learn's bundled wine data as parquet."""
    frame = load_wine_frame()
    frame.to_parquet(data.path, index=False)
    data.metadata.update({"format": "parquet", "rows": len(frame), "columns": ",".join(frame.columns)})


def validate_data(data: Input[Dataset], min_class_fraction: float, report: Output[Metrics]):
    """Fail the run (before any training) if the data's schema, nulls or class balance are wrong."""
    import pandas as pd

    frame = pd.read_parquet(data.path)
    problems = validation_problems(frame, min_class_fraction)
    if problems:
        raise ValueError("the wine data failed validation: " + "; ".join(problems))
    report.log_metric("rows", len(frame))
    for label, share in class_fractions(frame).items():
        report.log_metric(f"fraction_{label}", share)


def split_data(data: Input[Dataset], test_size: float, random_state: int, train: Output[Dataset],
               test: Output[Dataset]):
    """Hold out `test_size` of the rows (stratified) for the final evaluation."""
    import pandas as pd

    train_frame, test_frame = split_frame(pd.read_parquet(data.path), test_size, random_state)
    for artifact, frame in ((train, train_frame), (test, test_frame)):
        frame.to_parquet(artifact.path, index=False)
        artifact.metadata.update({"format": "parquet", "rows": len(frame)})


def train_candidate(train: Input[Dataset], n_neighbors: int, model: Output[Model]):
    """Fit one candidate (a scaled KNN) on the training split."""
    import joblib
    import pandas as pd

    joblib.dump(fit_candidate(pd.read_parquet(train.path), n_neighbors), model.path)
    model.metadata["n_neighbors"] = int(n_neighbors)


def score_candidate(model: Input[Model], train: Input[Dataset], folds: int, scored: Output[Model],
                    metrics: Output[Metrics]):
    """Cross-validate the candidate's configuration; pass the model on with its score in metadata."""
    import shutil

    import joblib
    import pandas as pd

    mean, std = cross_validated_accuracy(joblib.load(model.path), pd.read_parquet(train.path), folds)
    shutil.copyfile(model.path, scored.path)
    scored.metadata.update({**model_metadata(model.metadata), "cv_accuracy": mean, "cv_accuracy_std": std})
    metrics.log_metric("cv_accuracy", mean)
    metrics.log_metric("cv_accuracy_std", std)


def select_best(candidates: Input[List[Model]], best: Output[Model]):
    """Pick the best of ALL candidates (the loop's collected outputs) by cross-validated accuracy."""
    import shutil

    chosen = candidates[pick_best([model_metadata(c.metadata) for c in candidates])]
    shutil.copyfile(chosen.path, best.path)
    # Only the model's own keys: the backend adds display_name to each candidate's metadata, and a copied one would
    # show the best model under the candidate's name in the UI.
    best.metadata.update({**model_metadata(chosen.metadata), "candidates": len(candidates)})


def evaluate_model(model: Input[Model], test: Input[Dataset], metrics: Output[Metrics],
                   confusion: Output[ClassificationMetrics], summary: Output[dsl.Artifact]):
    """Score the chosen model on the held-out split: Metrics and a confusion matrix for the UI, JSON for the CLI."""
    import json

    import joblib
    import pandas as pd

    result = evaluation(joblib.load(model.path), pd.read_parquet(test.path))
    metrics.log_metric("accuracy", result["accuracy"])
    metrics.log_metric("f1_macro", result["f1_macro"])
    confusion.log_confusion_matrix(result["labels"], result["confusion_matrix"])
    report = {"hyperparameters": hyperparameters(model.metadata),
              "cv_accuracy": float(model.metadata["cv_accuracy"]), "test_accuracy": result["accuracy"],
              "test_f1_macro": result["f1_macro"]}
    with open(summary.path, "w") as out:
        json.dump(report, out)
    print("wine result:", json.dumps(report))


@dataclass(frozen=True)
class WineComponents:
    """One component per pipeline step; the pipeline's shape does not depend on how they are packaged."""

    load: dsl.base_component.BaseComponent
    validate: dsl.base_component.BaseComponent
    split: dsl.base_component.BaseComponent
    train: dsl.base_component.BaseComponent
    score: dsl.base_component.BaseComponent
    select: dsl.base_component.BaseComponent
    evaluate: dsl.base_component.BaseComponent


def components(flavour: Flavour = CLUSTER) -> WineComponents:
    """The wine steps as lightweight components of `flavour` (what each task installs before it runs)."""
    steps = (load_data, validate_data, split_data, train_candidate, score_candidate, select_best, evaluate_model)
    return WineComponents(*(lightweight(step, flavour, HELPERS) for step in steps))
