"""HubSpot -> PostgreSQL extraction: what to read (engine), and how it lands (store)."""
