"""Erasure (both ways) and retention of what the sync keeps about people."""
