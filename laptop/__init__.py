"""Host-side tooling: the stack workflow (`inv up`, `inv down`), `inv doctor` and `inv port-forward`."""
