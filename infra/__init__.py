"""The Pulumi program (`__main__.py`) and the pure decisions it is made of."""
