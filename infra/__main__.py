"""Pulumi entry point: every stack output is exported here, in one place."""
import pulumi

from infra.program import main

for _name, _value in main().items():
    pulumi.export(_name, _value)
