"""Rotation: policies, generators, staged rotation with hooks, and the worker."""
