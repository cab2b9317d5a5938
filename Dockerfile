# Wayfinder: `wayfinder serve` on port 3000, as an unprivileged user.
# Build: docker build -t wayfinder .   Run several replicas on one PostgreSQL: compose.yaml.

# --- build: install the project and its dependencies into a virtualenv ---------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/wayfinder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY catalog catalog
COPY actions actions
RUN /opt/wayfinder/bin/pip install .

# --- runtime: the virtualenv only, no compilers, no sources ---------------------------------------
FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /home/wayfinder wayfinder
COPY --from=build /opt/wayfinder /opt/wayfinder
ENV PATH=/opt/wayfinder/bin:$PATH PYTHONUNBUFFERED=1 WAYFINDER_LOG_FORMAT=json
USER wayfinder
WORKDIR /home/wayfinder
EXPOSE 3000
# Live = the process answers. Readiness (/readyz: database, schema, Slack token) is for the load
# balancer and the orchestrator's readiness probe: compose.yaml and Kubernetes check it themselves.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/livez', timeout=2)"]
CMD ["wayfinder", "serve", "--host", "0.0.0.0", "--port", "3000"]
