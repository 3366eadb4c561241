"""Host-side tooling: stack workflow, doctor, and the error type every command shares."""
