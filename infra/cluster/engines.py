"""Which engine makes a stack's cluster: the one place that knows every engine (engine.py knows none of them)."""
from __future__ import annotations

from infra.cluster.engine import ClusterEngine
from infra.cluster.k3d import K3dEngine
from infra.cluster.kind import KindEngine
from infra.config import StackConfig

ENGINES: dict[str, type[ClusterEngine]] = {"kind": KindEngine, "k3d": K3dEngine}


def engine_for(config: StackConfig) -> ClusterEngine:
    """The engine that creates this stack's cluster (`existing` creates none and has no engine)."""
    if config.engine not in ENGINES:
        raise ValueError(f"engine {config.engine!r} creates no cluster")
    return ENGINES[config.engine](config)
