"""The base every layer shares (below kfp_watchdog, infra, laptop and pipelines): the error type for mistakes a user can
fix. Nothing here imports the rest of the project."""
