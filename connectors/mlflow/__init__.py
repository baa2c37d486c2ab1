"""MLflow: runs from the tracking server and model versions from its registry."""
