"""The wine tuning pipeline: load, validate, split, tune a scaled KNN in a ParallelFor, select, evaluate."""
