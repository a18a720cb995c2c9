# The OCOP Airflow image: the official Airflow image plus the project's pinned requirements
# and the `ocop` package. The base tag must match the apache-airflow pin in requirements.txt
# (tests/test_deploy_compose.py checks it).
FROM apache/airflow:3.3.2-python3.11

# Install as the airflow user (the official image refuses pip as root). apache-airflow is
# pinned to the image's own version in requirements.txt, so pip keeps Airflow as it is.
COPY --chown=airflow:root requirements.txt /opt/ocop-src/requirements.txt
RUN pip install --no-cache-dir -r /opt/ocop-src/requirements.txt

COPY --chown=airflow:root pyproject.toml /opt/ocop-src/pyproject.toml
COPY --chown=airflow:root include /opt/ocop-src/include
RUN pip install --no-cache-dir --no-deps /opt/ocop-src

# DAGs and plugins are baked in too (compose mounts the checkout's over them for development
# convenience; a production deployment may drop those mounts and ship the image alone).
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins

# The pipeline's folders and the default file:// store (compose mounts ./deploy/inbox,
# ./deploy/publications and ./deploy/store; see docker-compose.yaml).
USER root
RUN mkdir -p /opt/ocop/data/inbox /opt/ocop/data/runs /opt/ocop/data/publications /opt/ocop/store \
    && chown -R airflow:root /opt/ocop && chmod -R g+rwX /opt/ocop
USER airflow

ENV GX_ANALYTICS_ENABLED=False \
    OCOP_HOME=/opt/ocop/data
