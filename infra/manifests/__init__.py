"""Upstream KFP manifests and the pure changes this project makes to them (plain dicts in, plain dicts out)."""
