# The Airflow image for docker-compose.yml: the official Airflow 3.3 image (it carries the Celery
# and Postgres providers) plus this project's locked dependencies and code.
FROM apache/airflow:3.3.2-python3.11

USER root
COPY --chown=airflow:root . /opt/project
USER airflow
WORKDIR /opt/project
# The same versions as uv.lock; Airflow itself stays the image's own.
RUN pip install --no-cache-dir uv==0.13.9 \
 && uv export --frozen --no-dev --no-emit-project --no-hashes -o /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && pip install --no-cache-dir --no-deps -e /opt/project
