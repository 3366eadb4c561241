"""The image plan: for every image the platform runs, what happens on the cluster's architecture.

`native` (the image has a build for this arch), `substituted` (replaced by a build that has one) or
`needs-emulation` (amd64 only: runs on Apple Silicon only where the Docker VM emulates amd64, e.g. Docker Desktop or
OrbStack with Rosetta, colima --vz-rosetta). Unknown images are planned as needs-emulation: better a warning than a
surprise. KFP's own images are planned by their tag's release (`infra.manifests.releases`). On arm64 every
needs-emulation image runs from its amd64 manifest pinned by digest (`pin_amd64`): an arm64 node refuses a tag whose
index has no arm64 entry, but pulls a single-platform manifest named by its digest and the VM emulates it.
Facts and sources: docs/upstream-facts.md, "Apple Silicon"; docs/kfp-releases.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from infra.manifests.objects import find_all, pod_spec, workloads
from infra.manifests.releases import KFP_IMAGES, kfp_image_arm64

NATIVE, SUBSTITUTED, NEEDS_EMULATION = "native", "substituted", "needs-emulation"

# arm64 builds that replace an amd64-only image (exact references: a substitute is only known good for its tag).
ARM64_SUBSTITUTES = {
    # metadata-grpc: no arm64 build, crashes even emulated (kubeflow/pipelines#10308); deployKF's arm64 build.
    "gcr.io/tfx-oss-public/ml_metadata_store_server:1.14.0":
        "ghcr.io/deploykf/ml_metadata_store_server:1.14.0-deploykf.0",
}
# Image repositories (the reference up to the tag) or prefixes ending in "-" -> (arm64 verdict, why).
ARM64_REPOSITORIES = {
    "ghcr.io/deploykf/ml_metadata_store_server": (NATIVE, "deployKF's arm64 build"),
    "quay.io/argoproj/": (NATIVE, "multi-arch"),
    "mysql": (NATIVE, "multi-arch official image"),
    "python": (NATIVE, "multi-arch official image"),
    "docker.io/alpine": (NATIVE, "multi-arch official image"),
    "ghcr.io/containerd/busybox": (NATIVE, "multi-arch"),
    "quay.io/minio/minio": (NATIVE, "multi-arch release (.hotfix tags are amd64 only)"),
}


@dataclass(frozen=True)
class ImageDecision:
    image: str         # as upstream (or the config) names it
    runs: str          # what the cluster runs
    verdict: str       # native | substituted | needs-emulation
    why: str


def repository(image: str) -> str:
    """`registry/name` without tag or digest."""
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def decide(image: str, arch: str) -> ImageDecision:
    if arch != "arm64":
        return ImageDecision(image, image, NATIVE, f"{arch} builds are published for every image")
    if image in ARM64_SUBSTITUTES:
        return ImageDecision(image, ARM64_SUBSTITUTES[image], SUBSTITUTED, "no arm64 build upstream; arm64 rebuild")
    if image.endswith(".hotfix") or ".hotfix." in image:
        return ImageDecision(image, image, NEEDS_EMULATION, "MinIO .hotfix tags are amd64 only")
    repo = repository(image)
    if repo.startswith(KFP_IMAGES + "kfp-") and "@" not in image:
        tag = image[len(repo) + 1:] if image.startswith(repo + ":") else "latest"
        arm64, why = kfp_image_arm64(repo[len(KFP_IMAGES):], tag)
        return ImageDecision(image, image, NATIVE if arm64 else NEEDS_EMULATION, why)
    for key, (verdict, why) in ARM64_REPOSITORIES.items():
        if repo == key or (key.endswith(("-", "/")) and repo.startswith(key)):
            return ImageDecision(image, image, verdict, why)
    return ImageDecision(image, image, NEEDS_EMULATION, "unknown image: assumed amd64 only")


def _image_slots(objects: list[dict]) -> Iterator[tuple[dict, str]]:
    """(holder, key) for every place an image reference lives: container images, `*_IMAGE` env values (the API
    server's driver and launcher), the workflow-controller's `--executor-image` argument and ConfigMap keys named
    `...Image` (`cacheImage`: the image of cached steps' pods)."""
    for config_map in find_all(objects, "ConfigMap"):
        for key, value in (config_map.get("data") or {}).items():
            if key.endswith("Image") and value:
                yield config_map["data"], key
    for workload in workloads(objects):
        spec = pod_spec(workload)
        for item in spec.get("containers", []) + spec.get("initContainers", []):
            yield item, "image"
            for entry in item.get("env", []):
                if entry.get("name", "").endswith("_IMAGE") and "value" in entry:
                    yield entry, "value"
            args = item.get("args", [])
            for i, arg in enumerate(args[:-1]):
                if arg == "--executor-image":
                    yield args, i + 1


def images_in(objects: list[dict]) -> list[str]:
    """Every image reference, each once, in first-seen order."""
    return list(dict.fromkeys(holder[key] for holder, key in _image_slots(objects)))


def plan_images(objects: list[dict], arch: str) -> list[ImageDecision]:
    return [decide(image, arch) for image in images_in(objects)]


def pin_amd64(plan: list[ImageDecision], digests: dict[str, str]) -> list[ImageDecision]:
    """The plan with each needs-emulation image run from its amd64 manifest, `digests` mapping image -> sha256
    digest of that manifest (resolved from the registry by the Pulumi layer; images without one stay as named)."""
    return [ImageDecision(d.image, f"{repository(d.image)}@{digests[d.image]}", d.verdict,
                          f"{d.why}; its amd64 manifest pinned by digest")
            if d.verdict == NEEDS_EMULATION and d.image in digests else d for d in plan]


def apply_plan(objects: list[dict], plan: list[ImageDecision]) -> None:
    runs = {d.image: d.runs for d in plan}
    for holder, key in list(_image_slots(objects)):
        holder[key] = runs.get(holder[key], holder[key])
