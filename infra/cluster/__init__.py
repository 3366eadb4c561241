"""Pure cluster decisions: kind/k3d config generation behind one engine interface, the local registry's container,
and the kubeconfig context of an existing cluster. Nothing here talks to Pulumi; `infra/components` wraps it."""
