"""Command-line pipeline arguments, parsed and checked before anything runs (values arrive as strings from invoke)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from kfp_laptop.errors import UserError
from pipelines import quickstart
from pipelines.wine import pipeline as wine


@dataclass(frozen=True)
class WineArguments:
    neighbors: tuple[int, ...]
    parallelism: int
    test_size: float
    random_state: int

    def pipeline_arguments(self) -> dict:
        """The run's arguments (`parallelism` is not one: it is built into the pipeline's loop)."""
        return {"neighbors": list(self.neighbors), "test_size": self.test_size, "random_state": self.random_state}


def _flag(name: str) -> str:
    """The option as invoke spells it: `-a` for one letter, `--test-size` for `test_size`."""
    return f"-{name}" if len(name) == 1 else f"--{name.replace('_', '-')}"


def _number(name: str, value, kind: type, example: str):
    try:
        if isinstance(value, str) and not value.isascii():
            raise ValueError(value)   # int() and float() also read Arabic-Indic and full-width digits
        return kind(value)
    except (TypeError, ValueError):
        raise UserError(f"{_flag(name)} must be {'an integer' if kind is int else 'a number'}, got {value!r}",
                        f"pass e.g. {_flag(name)} {example}") from None


def _check_the_data_bears(candidates: tuple[int, ...], held_out: float) -> None:
    """Refuse what would fail inside a task: the stratified split needs a row per class in the test part, the
    cross-validation `folds` rows per class in the training part, and KNN no more neighbours than a fold trains on."""
    test_rows = math.ceil(held_out * wine.WINE_ROWS)      # as scikit-learn's train_test_split counts them
    train_rows = wine.WINE_ROWS - test_rows
    needed = wine.WINE_CLASSES * wine.DEFAULT_FOLDS
    if test_rows < wine.WINE_CLASSES or train_rows < needed:
        raise UserError(f"--test-size {held_out} splits the wine data's {wine.WINE_ROWS} rows into {train_rows} for "
                        f"training and {test_rows} for testing; the test part needs at least {wine.WINE_CLASSES} "
                        f"(one per class), the training part at least {needed} ({wine.DEFAULT_FOLDS}-fold "
                        "cross-validation per class)", "pass e.g. --test-size 0.25")
    fit_rows = train_rows - math.ceil(train_rows / wine.DEFAULT_FOLDS)   # what the smallest fold trains on
    if max(candidates) > fit_rows:
        raise UserError(f"--neighbors {max(candidates)} is more than the {fit_rows} rows each cross-validation fold "
                        f"trains on (with --test-size {held_out})", f"pass candidates up to {fit_rows}, e.g. "
                        "--neighbors 3,5,7")


def wine_arguments(neighbors=None, parallelism=None, test_size=None, random_state=None) -> WineArguments:
    """Validated wine arguments; None means the pipeline's default."""
    if neighbors is None:
        candidates = tuple(wine.DEFAULT_NEIGHBORS)
    else:
        given = neighbors if isinstance(neighbors, (list, tuple)) else str(neighbors).split(",")
        parts = [str(p).strip() for p in given]
        if not any(parts):
            raise UserError("--neighbors is empty: there is nothing to tune", "pass candidates, e.g. --neighbors 3,5,7")
        if not all(parts):
            raise UserError(f"--neighbors has an empty candidate in {neighbors!r}", "pass e.g. --neighbors 3,5,7")
        candidates = tuple(_number("neighbors", p, int, "3,5,7") for p in parts)
        if min(candidates) < 1:
            raise UserError(f"--neighbors must all be at least 1, got {neighbors!r}", "pass e.g. --neighbors 3,5,7")
    workers = wine.DEFAULT_PARALLELISM if parallelism is None else _number("parallelism", parallelism, int, "2")
    if workers < 1:
        raise UserError(f"--parallelism must be at least 1, got {workers}", "pass e.g. --parallelism 2")
    if workers >= 2**31:   # the IR stores the loop's limit as an int32
        raise UserError(f"--parallelism must be below {2**31}, got {workers}",
                        f"pass at most the number of candidates ({len(candidates)}): more never run at once")
    held_out = wine.DEFAULT_TEST_SIZE if test_size is None else _number("test_size", test_size, float, "0.25")
    if not 0 < held_out < 1:
        raise UserError(f"--test-size must be between 0 and 1 (exclusive), got {held_out}",
                        "pass e.g. --test-size 0.25")
    seed = wine.DEFAULT_RANDOM_STATE if random_state is None else _number("random_state", random_state, int, "42")
    if not 0 <= seed < 2**32:
        raise UserError(f"--random-state must be between 0 and {2**32 - 1} (scikit-learn's seed range), got {seed}",
                        "pass e.g. --random-state 42")
    _check_the_data_bears(candidates, held_out)
    return WineArguments(neighbors=candidates, parallelism=workers, test_size=held_out, random_state=seed)


def _ascii_integer(name: str, value) -> int:
    """An integer written in ASCII digits (int() alone would take '٣', '1_000' or '3.0' as a number)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip(" ")):
        return int(value)
    raise UserError(f"{_flag(name)} must be an integer, got {value!r}", f"pass e.g. {_flag(name)} 3")


def quickstart_arguments(a=None, b=None, c=None) -> dict:
    """The addition's arguments; `c` is left out when not given, so the pipeline's own default (10) applies.
    Every argument and each partial sum must be exact in KFP's float64 numbers (`quickstart.EXACT_LIMIT`)."""
    given = {"a": 1 if a is None else a, "b": 2 if b is None else b, **({} if c is None else {"c": c})}
    values = {name: _ascii_integer(name, value) for name, value in given.items()}
    first = values["a"] + values["b"]
    steps = [*((_flag(n), v) for n, v in values.items()), ("a + b", first),
             ("a + b + c", first + values.get("c", quickstart.DEFAULT_C))]
    for what, number in steps:
        if abs(number) > quickstart.EXACT_LIMIT:
            raise UserError(f"{what} is {number}, beyond ±2**53 ({quickstart.EXACT_LIMIT}): KFP carries numbers as "
                            "64-bit floats, so the sum would come back rounded",
                            f"pass integers whose sums stay within ±{quickstart.EXACT_LIMIT}")
    return values
