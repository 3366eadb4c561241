"""KFP pipelines (quickstart, wine tuning), their components, and the client side that runs them locally or on
the stack."""
