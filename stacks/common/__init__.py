"""Constructs and settings every architecture shares."""
