"""Entry point in the cluster: `python -m kfp_watchdog` (the source is mounted from a ConfigMap)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from kfp_watchdog.decide import Policy
from kfp_watchdog.kube import SERVICE_ACCOUNT, KubeApi
from kfp_watchdog.loop import HEARTBEAT, Settings, run


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings(namespace=os.environ["WATCHDOG_NAMESPACE"], policy=Policy.from_env(),
                        heartbeat=Path(os.environ.get("WATCHDOG_HEARTBEAT", HEARTBEAT)))
    # The service-account folder is where Kubernetes mounts it unless the pod spec projects it elsewhere.
    run(KubeApi.in_cluster(Path(os.environ.get("WATCHDOG_SERVICE_ACCOUNT", SERVICE_ACCOUNT))), settings)


if __name__ == "__main__":
    main()
