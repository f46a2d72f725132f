"""Simulation and measurement of the reference step (needs the [probe] extra)."""
