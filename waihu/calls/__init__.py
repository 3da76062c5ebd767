"""The calling side of the service: the worker, its trunk, registration and metrics."""
