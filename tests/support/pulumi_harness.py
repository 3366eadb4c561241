"""Run the Pulumi program under `pulumi.runtime.set_mocks`, recording every registered resource.

Mocks stand in only for what this machine cannot run (the Pulumi engine, the Kubernetes provider, a cluster).
A `yaml/v2` ConfigGroup is expanded by the provider, so under mocks it is one resource with no children: its objects
are read from its `yaml` input, as the provider would decode them. Each registration's request (its dependencies,
aliases and options, as the SDK sends them to the engine) is recorded too.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
import yaml

from infra.manifests.source import parse as parse_yaml

PROJECT = "kfp-laptop"
V2_GROUP = "kubernetes:yaml/v2:ConfigGroup"
SECRET_SIG = "4dabf18193072939515e22adb298388d"   # the key that marks a secret value on the wire (pulumi.runtime.rpc)


def decode(text: str) -> list[dict]:
    """The objects of a YAML text, as the provider decodes it; a stream of JSON documents (what the components send,
    `dump_for_machines`) is read with json, which is much faster than PyYAML and gives the same objects."""
    try:
        return [json.loads(document) for document in text.split("---\n") if document.strip()]
    except ValueError:
        return parse_yaml(text)


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    provider: str | None
    dependencies: list[str] = field(default_factory=list)   # URNs, as sent to the engine


@dataclass
class ProgramRun:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[str] = field(default_factory=list)
    dependencies: dict[tuple[str, str], list[str]] = field(default_factory=dict)   # (type, name) -> URNs
    requests: dict[tuple[str, str], Any] = field(default_factory=dict)   # (type, name) -> RegisterResourceRequest
    error: BaseException | None = None

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]

    def named(self, name: str) -> Registered:
        (resource,) = [r for r in self.resources if r.name == name]
        return resource

    def kubernetes_objects(self) -> list[dict]:
        """Every registered Kubernetes object as a manifest dict (apiVersion, kind, metadata, ...), in registration
        order; a v2 ConfigGroup's objects (from its YAML text) where the group is registered."""
        objs = []
        for r in self.resources:
            if r.typ == V2_GROUP:
                objs.extend(decode(r.inputs["yaml"]))
            elif r.typ.startswith("kubernetes:") and "kind" in r.inputs:
                objs.append(r.inputs)
        return objs


class RecordingMocks(pulumi.runtime.Mocks):
    """Records resources; invokes that render manifests do so for real."""

    def __init__(self, run: ProgramRun, preview: bool = False):
        self.run, self.preview = run, preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.run.resources.append(Registered(args.typ, args.name, dict(args.inputs), args.provider,
                                             self.run.dependencies.get((args.typ, args.name), [])))
        outputs = dict(args.inputs)
        digest = hashlib.sha256(f"{args.typ}/{args.name}".encode()).hexdigest()
        if args.typ.startswith("random:index/random"):
            # A stand-in for the provider's random value: distinct per resource, as long as asked for.
            length = int(args.inputs.get("length", 24))
            outputs["result"] = (digest * 4)[:length]
        if args.typ == "command:local:Command" and not self.preview:   # a preview runs no command: unknown
            outputs.setdefault("stdout", "")
            outputs.setdefault("stderr", "")
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.run.invokes.append(args.token)
        raise NotImplementedError(f"no mock for invoke {args.token}: the program calls none")


def _record_dependencies(run: ProgramRun) -> None:
    """Wrap the mock monitor so each registration keeps the request the SDK sent: its dependencies, aliases and
    options."""
    monitor = pulumi.runtime.settings.get_monitor()
    register = monitor.RegisterResource

    def recording(request):   # may run on several threads at once: matched by (type, name), not by position
        run.dependencies[(request.type, request.name)] = list(request.dependencies)
        run.requests[(request.type, request.name)] = request
        return register(request)

    monitor.RegisterResource = recording


def _program_main() -> Callable[[], dict]:
    from infra.program import main

    return main


def run_program(config: dict[str, Any], stack: str = "test", main: Callable[[], dict] | None = None,
                preview: bool = False) -> ProgramRun:
    """Evaluate `infra.program.main()` (or another `main`) with this stack config (keys without the `kfp-laptop:`
    prefix).

    A config error is captured in `.error` (with whatever was registered before it, which should be nothing).
    """
    run = ProgramRun()
    pulumi.runtime.set_mocks(RecordingMocks(run, preview), project=PROJECT, stack=stack, preview=preview)
    _record_dependencies(run)
    pulumi.runtime.set_all_config({f"{PROJECT}:{k}": (v if isinstance(v, str) else yaml.safe_dump(v).strip())
                                   for k, v in config.items()})

    @pulumi.runtime.test
    def evaluate():
        try:
            outputs = (main or _program_main())()
        except Exception as err:  # noqa: BLE001 - recorded for the test to assert on
            run.error = err
            return None
        return pulumi.Output.from_input(outputs).apply(run.outputs.update)

    evaluate()
    return run
