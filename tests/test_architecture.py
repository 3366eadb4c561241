"""The structure docs/architecture.md describes, checked from the code itself (`tests.support.imports` reads every
import with `ast`): the committed drawing is current, and no installed package shadows one of ours."""
from __future__ import annotations

from importlib.metadata import packages_distributions

from tests.support import architecture
from tests.support.imports import LAYERS


def test_docs_architecture_is_generated_from_the_code_as_it_is_now():
    text = architecture.DOC.read_text()
    assert architecture.START in text and architecture.END in text
    assert architecture.generated() in text, "docs/architecture.md is stale: run `python -m tests.support.architecture`"


def test_no_installed_distribution_provides_a_top_level_name_of_ours():
    """A dependency that ships e.g. a `watchdog` package would shadow ours (or be shadowed) in `.venv`."""
    provided = packages_distributions()
    clashes = {name: provided[name] for name in LAYERS if set(provided.get(name, ())) - {"kfp-laptop", "kfp_laptop"}}
    assert not clashes
