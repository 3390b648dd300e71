"""Two-way fields: PostgreSQL edits of declared columns captured by triggers and pushed to HubSpot."""
