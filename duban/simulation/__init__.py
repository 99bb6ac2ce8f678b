"""Replaying months of synthetic cases on a simulated clock, through the real sweep and services."""
