"""`inv render` and `inv image-plan`: what the stack would install, without a cluster or Pulumi.

Offline once the upstream KFP manifests of the version are at hand: the first use of a version renders upstream's
kustomize trees, which pull Argo from GitHub (network, once; then cached), unless `--kfp-manifests FOLDER` names a
pre-rendered folder.

Both read the same upstream source and run the same pure functions as the Pulumi program; only the generated
credentials are replaced by placeholders, so the output is safe to share and to scan (e.g. checkov). Both stay
offline: on arm64 an amd64-only image keeps its tag here, where `inv up` pins its amd64 manifest by the digest the
registry gives (infra/components/image_digests.py).
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from infra.cluster.registry_container import local_registry_hosting, registry_spec
from infra.config import ConfigError, StackConfig, from_raw
from infra.manifests.images import NEEDS_EMULATION, SUBSTITUTED, plan_images, repository
from infra.manifests.minio import artifact_secret
from infra.manifests.patch import PatchSettings, patch_all, patch_upstream
from infra.manifests.source import dump, load_upstream
from infra.topology import NAMESPACE, PIPELINE_ARTIFACT_SECRET
from kfp_laptop.errors import UserError
from kfp_watchdog.objects import package_sources, watchdog_objects

FILES = ("00-cluster-scoped.yaml", "10-namespaced.yaml", "20-watchdog.yaml", "30-registry.yaml")
PLACEHOLDER = "<generated per stack by pulumi-random>"
VERDICT_STYLE = {SUBSTITUTED: "yellow", NEEDS_EMULATION: "bold red"}


OPTIONS = {"arch": "--arch", "kfpManifests": "--kfp-manifests", "kfpVersion": "--kfp-version"}   # config key -> flag


def render_config(arch: str | None, kfp_manifests: str | None, kfp_version: str | None) -> StackConfig:
    """The stack config these options describe (everything else at its default), validated like `pulumi up`'s."""
    raw = {"arch": arch or "auto", "kfpManifests": kfp_manifests or "", "kfpVersion": kfp_version or ""}
    try:
        return from_raw(raw, stack="render")
    except ConfigError as err:   # named by its option: the stack's `pulumi config` plays no part here
        raise UserError(f"invalid {OPTIONS[err.key]} {err.value!r}: {err.allowed}",
                        "pass --arch amd64|arm64, --kfp-version X.Y.Z or --kfp-manifests FOLDER") from None


def upstream(config: StackConfig):
    """The upstream objects; a problem fetching them names this command's flag, not the stack's config key."""
    try:
        return load_upstream(config.kfp_version, config.kfp_manifests)
    except UserError as err:
        fix = (err.fix or "").replace("set kfp-laptop:kfpManifests to a pre-rendered folder",
                                      "pass --kfp-manifests FOLDER (a pre-rendered folder)")
        raise UserError(err.problem, fix.replace("set kfp-laptop:kfpManifests to a folder rendered elsewhere",
                                                 "pass --kfp-manifests FOLDER (a folder rendered elsewhere)")) from None


def stack_objects(config: StackConfig) -> list[list[dict]]:
    """The Kubernetes objects of the stack, one list per file of `FILES`, from the same pure functions the
    components register: KfpPlatform (cluster-scoped, then namespaced with the Secret), Watchdog, LocalRegistry."""
    cluster_scoped, namespaced = patch_all(upstream(config), PatchSettings.from_config(config))
    return [cluster_scoped, [artifact_secret(PLACEHOLDER, PLACEHOLDER),
                            artifact_secret(PLACEHOLDER, PLACEHOLDER, PIPELINE_ARTIFACT_SECRET), *namespaced],
            watchdog_objects(NAMESPACE, package_sources()),
            [local_registry_hosting(registry_spec(config))]]


def render_to(out: str | Path, arch: str | None = None, kfp_manifests: str | None = None,
              kfp_version: str | None = None) -> list[Path]:
    """Write every Kubernetes object the stack would apply, in install order, as plain YAML; returns the files."""
    config = render_config(arch, kfp_manifests, kfp_version)
    folder = Path(out)
    files = [folder / name for name in FILES]
    texts = [dump(objects) for objects in stack_objects(config)]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in zip(files, texts, strict=True):
            path.write_text(text)
    except OSError as err:
        raise UserError(f"cannot write the rendered objects to {err.filename or folder}: {err.strerror or err}",
                        "pass --out a folder you can write to") from None
    Console(stderr=True).print(f"wrote the objects of KFP {config.kfp_version} for {config.arch} "
                               f"to {', '.join(str(f) for f in files)}", highlight=False)
    return files


def print_image_plan(arch: str | None = None, kfp_manifests: str | None = None,
                     kfp_version: str | None = None) -> None:
    """Every image of the stack's pods (KFP, MinIO, watchdog) and what runs on the cluster's architecture."""
    config = render_config(arch, kfp_manifests, kfp_version)
    objects = patch_upstream(upstream(config), PatchSettings.from_config(config))
    plan = plan_images(objects + watchdog_objects(NAMESPACE, package_sources()), config.arch)
    table = Table(title=f"Images of KFP {config.kfp_version} on {config.arch}")
    table.add_column("image", overflow="fold")
    table.add_column("runs as", overflow="fold")
    table.add_column("plan", no_wrap=True)
    table.add_column("why")
    for d in plan:
        style = VERDICT_STYLE.get(d.verdict, "green")
        runs = "" if d.runs == d.image else d.runs
        if d.verdict == NEEDS_EMULATION and config.arch == "arm64":
            runs = f"{repository(d.image)}@<its amd64 manifest's digest, looked up by `inv up`>"
        table.add_row(d.image, runs, f"[{style}]{d.verdict}[/]", d.why)
    console = Console()
    console.print(table)
    emulated = [d for d in plan if d.verdict == NEEDS_EMULATION]
    if emulated:
        console.print(f"{len(emulated)} image(s) need amd64 emulation: enable Rosetta in Docker Desktop/OrbStack "
                      "or start colima with --vz-rosetta. Each is pulled by its amd64 manifest's digest, which an "
                      "arm64 node accepts even where the tag's index has no arm64 entry.", highlight=False)
