# syntax=docker/dockerfile:1
# Multi-stage: dependencies in a cached layer, the source after; slim runtime; non-root user.

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock pyproject.toml README.md ./
# Dependencies only (cached until the lock or pyproject changes): the project's runtime dependencies, read
# from pyproject.toml so the image never drifts from them, pinned by the lock; the project itself comes after.
RUN python -m venv /opt/venv \
 && grep -v '^#' requirements.lock > /tmp/constraints.txt \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && /opt/venv/bin/pip install -c /tmp/constraints.txt -r /tmp/requirements.txt
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN /opt/venv/bin/pip install --no-deps .

FROM python:3.11-slim AS runtime
RUN groupadd --system vpt && useradd --system --gid vpt --home-dir /app --shell /usr/sbin/nologin vpt
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/migrations ./migrations
COPY --from=build /src/alembic.ini ./alembic.ini
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VPT_API_HOST=0.0.0.0 \
    VPT_API_PORT=8000 \
    VPT_DATABASE_URL=sqlite:////app/data/vpt.db
RUN mkdir -p /app/data && chown vpt:vpt /app/data
USER vpt
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Run `vpt db upgrade` once per deployment (e.g. a migrate job), then the API:
CMD ["vpt", "serve"]
