#!/usr/bin/env bash
# `make demo`: migrate, import the fixtures, score them, serve the dashboard.
# With Redis up, a Celery worker and beat run in the background (stopped when
# the server exits) and the import enqueues scoring; without Redis, say so and
# score in-process. Either way the dashboard opens on scored comments.
set -euo pipefail
BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DEBUG=1
BROKER=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
mkdir -p var

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$BIN/python" manage.py migrate --no-input -v0

# The official detoxify model, unless a detoxify model is active already:
# DEMO_DOWNLOAD_SECONDS at most (what arrives by then is resumed next time;
# DEMO_DOWNLOAD_SECONDS=0 skips it). Either way, one line says which model
# scores and why (the same reason model_status and /models/ give).
DEMO_DOWNLOAD_SECONDS=${DEMO_DOWNLOAD_SECONDS:-120}
if [ "$DEMO_DOWNLOAD_SECONDS" != 0 ] && ! "$BIN/python" manage.py model_status --json 2>/dev/null \
        | "$BIN/python" -c 'import json, sys; sys.exit(json.load(sys.stdin)["backend"] != "detoxify")'
then
    "$BIN/python" manage.py install_model --official "${DEMO_MODEL_TYPE:-original}" --timeout 5 \
        --max-seconds "$DEMO_DOWNLOAD_SECONDS" >var/demo-download.log 2>&1 || true
fi
"$BIN/python" manage.py model_status --line

if "$BIN/python" - "$BROKER" <<'PY'
import sys

import redis

try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
except Exception:
    sys.exit(1)
PY
then
    setsid "$BIN/celery" -A config worker -l info >var/demo-worker.log 2>&1 &
    pids+=($!)
    setsid "$BIN/celery" -A config beat -l info -s var/celerybeat-schedule \
        >var/demo-beat.log 2>&1 &
    pids+=($!)
    echo "Celery worker and beat started against $BROKER (logs: var/demo-*.log)"
    "$BIN/python" manage.py demo_setup >var/demo-setup.log
    # The import enqueued scoring: wait for the worker (scoring the same
    # comments here as well would do its work twice); only what it leaves
    # unscored after a stall is scored in this process.
    "$BIN/python" manage.py demo_setup --wait-for-scoring 300
else
    echo "Redis unreachable at $BROKER; scoring in-process"
    SCORING_AUTO_ENQUEUE=0 "$BIN/python" manage.py demo_setup >var/demo-setup.log
    "$BIN/python" manage.py rescore --sync --unscored
fi

# The server in the background, so the sign-in is the last thing printed once it answers.
setsid "$BIN/python" manage.py runserver "$HOST:$PORT" &
pids+=($!)
"$BIN/python" - "$HOST" "$PORT" <<'PY'
import socket
import sys
import time

for _ in range(300):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
        break
    except OSError:
        time.sleep(0.2)
PY
"$BIN/python" manage.py demo_setup --credentials --url "http://$HOST:$PORT/"
wait "${pids[-1]}"
