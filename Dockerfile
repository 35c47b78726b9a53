# The project's image: the worker (default), `transfers db upgrade` and the codec server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies and the project in one step: pyproject.toml pins them (psycopg[binary] brings
# libpq, so no compiler or system packages are needed).
COPY . /src
RUN pip install /src && rm -rf /src

COPY deploy/healthcheck.py /app/healthcheck.py

# A non-root user; the data folder (documents) belongs to it, so a named volume mounted there
# starts with this ownership.
RUN useradd --system --uid 10001 --home-dir /var/lib/transfers --shell /usr/sbin/nologin transfers \
    && mkdir -p /var/lib/transfers && chown transfers:transfers /var/lib/transfers
USER transfers
ENV TRANSFERS_DATA_DIR=/var/lib/transfers

# Healthy while the worker polls: GET /healthz on TRANSFERS_HEALTH_PORT (see docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]

CMD ["transfers", "worker"]
