"""Shared test stand-ins (for what this machine cannot run)."""
