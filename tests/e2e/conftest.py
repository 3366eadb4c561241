"""Fixtures shared by the end-to-end tests: this laptop's stack, and a Kubernetes client for it."""
from __future__ import annotations

import pytest
import yaml


@pytest.fixture(scope="session")
def laptop_stack() -> dict:
    """This laptop's stack outputs; brings the stack up (`inv up`) when none is."""
    from laptop.stack import find_outputs, up

    return find_outputs() or up(yes=True)


@pytest.fixture(scope="session")
def kube_api_client(laptop_stack):
    """A kubernetes ApiClient from the stack's (secret) kubeconfig output, for its context."""
    from kubernetes import config

    return config.new_client_from_config_dict(yaml.safe_load(laptop_stack["kubeconfig"]),
                                              context=laptop_stack["cluster"]["context"])
