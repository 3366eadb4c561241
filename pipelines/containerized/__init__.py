"""Containerized components: the wine pipeline's steps as images in the stack's local registry.

Two of the three KFP component kinds that need an image live here: a containerized Python component (the training
step, `target_image`) and a custom container component (data validation, `dsl.container_component`). `inv
build-components` builds and pushes their images (`build.build_and_push`); `inv run-wine --containerized` runs the
variant that uses them (`variant.cluster_pipeline`).
"""
