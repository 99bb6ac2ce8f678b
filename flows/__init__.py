"""Prefect flows: the engine that enforces deadlines unattended."""
