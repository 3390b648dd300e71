"""Reverse ETL: values computed in PostgreSQL pushed onto HubSpot records, only what changed.

- `model_config`: the declarative model definition (a `models:` entry of include/config/sync.yaml);
- `values`: pure canonicalisation of query values and validation against HubSpot property definitions;
- `diff`: pure comparison of a model's rows with what was last pushed;
- `responses`: pure reading of batch responses (which input failed, and why);
- `definitions`: HubSpot property definitions, cached and refreshed when they may be stale;
- `store`: every read and write of the warehouse (SQL in include/sql/reverse_etl);
- `engine`: one model's run, from query to recorded outcome.
"""
