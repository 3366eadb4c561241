"""What a first preview cannot show: with a kind/k3d cluster still to be created, its kubeconfig is unknown, the
Kubernetes provider cannot be configured, and the preview lists none of the objects that go into the cluster. The
program says what they are instead, so a user confirming `inv up` knows what it will create."""
from __future__ import annotations

from collections import Counter

import pulumi


def pending_objects_note(engine: str, kfp_version: str, objects: list[dict]) -> str:
    kinds = Counter(o["kind"] for o in objects)
    listed = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items(), key=lambda kc: (-kc[1], kc[0])))
    return (f"the {engine} cluster does not exist yet, so this preview cannot list what goes into it: `pulumi up` "
            f"will also create {len(objects)} Kubernetes objects (KFP {kfp_version} with MinIO, and the watchdog): "
            f"{listed}")


def announce_when_unknown(kubeconfig: pulumi.Output, note: str) -> None:
    """Log `note` during a preview in which the kubeconfig is not known yet (the cluster is still to be created)."""
    async def tell() -> None:
        if pulumi.runtime.is_dry_run() and not await kubeconfig.is_known():
            pulumi.log.info(note)

    pulumi.Output.from_input(tell())
