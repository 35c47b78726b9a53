"""Pydantic models shared by the CLI, the workflows, the activities and the store."""
