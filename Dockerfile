# syntax=docker/dockerfile:1
# Production image for Stayflow: one image, three roles chosen by the command
# (`stayflow api` by default, `stayflow worker`, `stayflow migrate`).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: turn the repo and its dependencies into wheels --------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . .
# Wheels only: the source tree and pip's build artefacts stay in this stage.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- runtime -------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Inside a container the API must listen beyond loopback (settings default: 127.0.0.1).
    STAYFLOW_API_HOST=0.0.0.0

# Fixed numeric ids so volume ownership and `runAsNonRoot` policies are predictable.
RUN groupadd --system --gid 10001 stayflow \
 && useradd --system --uid 10001 --gid stayflow --home-dir /home/stayflow \
        --create-home --shell /usr/sbin/nologin stayflow \
 && mkdir -p /app /data/media \
 && chown stayflow:stayflow /app /data/media

# Bind-mount the wheels instead of COPYing them so they never become an image layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/*.whl

WORKDIR /app
USER 10001:10001

EXPOSE 8000
CMD ["stayflow", "api"]
