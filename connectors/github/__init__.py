"""GitHub: merged pull requests, reviews, releases and production deployments."""
