"""The wine pipeline's logic as plain functions over DataFrames and dicts, tested without any pipeline.

These functions are shipped inside each component's source (`additional_funcs`), so they must stand alone:
imports inside the body, string annotations, no module-level names. The label column is always "target".
"""


def load_wine_frame() -> "pandas.DataFrame":
    """scikit-learn's bundled wine data (178 rows, 13 numeric features, 3 classes): nothing is downloaded."""
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame


def validation_problems(frame: "pandas.DataFrame", min_class_fraction: float) -> list:
    """Everything wrong with `frame` as training data (empty = valid): schema, nulls, class balance."""
    from pandas.api import types

    if "target" not in frame.columns:
        return ["no 'target' column"]
    features = [c for c in frame.columns if c != "target"]
    problems = []
    if not features:
        problems.append("no feature columns")
    problems += [f"column {c!r} is {frame[c].dtype}, not numeric" for c in features
                 if not types.is_numeric_dtype(frame[c])]
    if not types.is_integer_dtype(frame["target"]):
        problems.append(f"'target' is {frame['target'].dtype}, not integer class labels")
    nulls = frame.isna().sum()
    problems += [f"column {c!r} has {n} null value(s)" for c, n in nulls.items() if n]
    fractions = frame["target"].value_counts(normalize=True)
    if len(fractions) < 2:
        problems.append(f"{len(fractions)} class(es); at least 2 are needed")
    problems += [f"class {label} is {share:.1%} of rows, below {min_class_fraction:.1%}"
                 for label, share in fractions.items() if share < min_class_fraction]
    return problems


def class_fractions(frame: "pandas.DataFrame") -> dict:
    """Share of rows per class label, e.g. {"class_0": 0.33, ...}."""
    counts = frame["target"].value_counts(normalize=True).sort_index()
    return {f"class_{label}": round(float(share), 4) for label, share in counts.items()}


def split_frame(frame: "pandas.DataFrame", test_size: float, random_state: int) -> tuple:
    """Stratified (train, test) split, so every class is in both halves in its original proportion."""
    from sklearn.model_selection import train_test_split

    return train_test_split(frame, test_size=test_size, random_state=int(random_state), stratify=frame["target"])


def features_and_target(frame: "pandas.DataFrame") -> tuple:
    """(X, y) of a frame whose label column is "target"."""
    return frame.drop(columns=["target"]), frame["target"]


def scaled_knn(n_neighbors: int) -> "sklearn.pipeline.Pipeline":
    """The candidate model: features standardized (KNN is distance-based), then k nearest neighbours."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # int(): kfp.local hands loop items of a list of ints over as floats.
    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=int(n_neighbors)))


def fit_candidate(train: "pandas.DataFrame", n_neighbors: int) -> "sklearn.pipeline.Pipeline":
    """A scaled KNN with `n_neighbors`, fitted on the whole training split."""
    features, target = features_and_target(train)
    return scaled_knn(n_neighbors).fit(features, target)


def cross_validated_accuracy(model: "sklearn.base.BaseEstimator", train: "pandas.DataFrame", folds: int) -> tuple:
    """(mean, std) accuracy of `model`'s configuration over stratified folds of the training split (refits clones)."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    features, target = features_and_target(train)
    splitter = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=0)
    # error_score="raise": a candidate that cannot be fitted fails its task instead of scoring NaN unnoticed.
    scores = cross_val_score(clone(model), features, target, cv=splitter, scoring="accuracy", error_score="raise")
    return float(scores.mean()), float(scores.std())


def pick_best(candidates: list) -> int:
    """Index of the best candidate (flat metadata dicts with cv_accuracy, cv_accuracy_std, n_neighbors).

    Highest mean accuracy wins; ties go to the steadier score (lower std), then to the smaller k, so the choice
    does not depend on the order in which the loop's iterations finished.
    """
    if not candidates:
        raise ValueError("no candidates to select from")

    def rank(i: int) -> tuple:
        c = candidates[i]
        return (-float(c["cv_accuracy"]), float(c["cv_accuracy_std"]), int(c["n_neighbors"]))

    return min(range(len(candidates)), key=rank)


def model_metadata(metadata: dict) -> dict:
    """The keys a candidate's model carries from task to task, and only those.

    Every value is a number: the KFP backend hands artifact metadata on through ML Metadata, which wraps a dict as
    {"struct": ...}, a list as {"list": ...} and a bool as 1/0, and adds keys of its own (display_name,
    store_session_info) that must not be copied onto another artifact (backend/src/v2/metadata/converter.go,
    client.go). Whole numbers come back as floats, so n_neighbors is made an int again here.
    """
    carried = {"n_neighbors": int(float(metadata["n_neighbors"]))}
    for key in ("cv_accuracy", "cv_accuracy_std"):
        if key in metadata:
            carried[key] = float(metadata[key])
    return carried


def hyperparameters(metadata: dict) -> dict:
    """The tuned hyperparameters from a model's metadata, as written (ints)."""
    return {"n_neighbors": int(float(metadata["n_neighbors"]))}


def evaluation(model: "sklearn.base.BaseEstimator", test: "pandas.DataFrame") -> dict:
    """Held-out accuracy, macro F1 and the confusion matrix (rows: true class, columns: predicted)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    features, target = features_and_target(test)
    predicted = model.predict(features)
    labels = sorted(int(v) for v in target.unique())
    return {
        "accuracy": float(accuracy_score(target, predicted)),
        "f1_macro": float(f1_score(target, predicted, average="macro")),
        "labels": [f"class_{label}" for label in labels],
        "confusion_matrix": confusion_matrix(target, predicted, labels=labels).tolist(),
    }
