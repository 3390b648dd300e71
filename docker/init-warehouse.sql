-- The warehouse the sync writes to, kept apart from Airflow's metadata database.
CREATE USER warehouse WITH PASSWORD 'warehouse';
CREATE DATABASE warehouse OWNER warehouse;
