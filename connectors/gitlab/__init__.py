"""GitLab: merged merge requests, approvals I gave, releases and production deployments."""
