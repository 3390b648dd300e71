# Airflow image with the pinned sync dependencies; used by every Airflow service and the sandbox.
FROM apache/airflow:3.3.2
COPY --chown=airflow:0 requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt
# Owned by the airflow user, so the sandbox's named volume mounted here starts writable for it.
RUN mkdir -p /opt/airflow/sandbox-data
