"""The stack outputs the pipeline commands read, as `pulumi stack output --json --show-secrets` prints them for a
kind stack (tests/fixtures/stack_outputs.json): one copy for every test that stands in for a stack."""
from __future__ import annotations

import json
from pathlib import Path

FIXTURE_OUTPUTS = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "stack_outputs.json").read_text())
