"""Weights & Biases: runs and model-registry versions through its GraphQL API."""
