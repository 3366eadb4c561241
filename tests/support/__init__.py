"""Shared test stand-ins (for what this machine cannot run) and helpers shared by several test files."""
