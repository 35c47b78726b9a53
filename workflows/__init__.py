"""Workflows: one module per process."""
