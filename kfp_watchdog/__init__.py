"""The in-cluster watchdog that keeps KFP's Argo workflow-controller alive.

Standard library only: the stack mounts this package from a ConfigMap into an official Python image,
so it runs before the local registry holds anything and needs no image build.
"""
