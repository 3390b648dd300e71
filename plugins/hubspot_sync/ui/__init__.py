"""The "HubSpot sync" page inside the Airflow UI: queries.py reads, chart.py draws, app.py serves."""
