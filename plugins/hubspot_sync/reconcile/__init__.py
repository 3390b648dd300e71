"""Reconciliation: compare HubSpot with the warehouse, record every difference, repair what is configured."""
