#!/bin/bash
# ci/demo.sh - the whole service on this machine, for trying it out (`make demo`, `make stop`).
#
#   start  install what is needed (apt), start RabbitMQ and the Ganeti test cluster, set up
#          var/demo/ (settings, SQLite database, logs), start the daemons and the API/web
#          server on http://127.0.0.1:8000, create the demo user, flavors and image, write
#          clouds.yaml and print how to use it. Safe to run again.
#   stop   stop everything start started (daemons, API server, Ganeti daemons, RabbitMQ).
#   status show what runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DEMO=$ROOT/var/demo
SETTINGS=$DEMO/settings
RUN=$DEMO/run
LOGS=$DEMO/log
VENV=$ROOT/.venv
PORT=${DEMO_PORT:-8000}
URL=http://127.0.0.1:$PORT
export SYNNEFO_SETTINGS_DIR=$SETTINGS
export DJANGO_SETTINGS_MODULE=synnefo.webproject.settings

log() { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
manage() { "$VENV/bin/snf-manage" "$@"; }

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_settings() {
  mkdir -p "$SETTINGS" "$RUN" "$LOGS"
  chmod 0750 "$DEMO" "$SETTINGS"
  # shellcheck source=ci/test-env.sh
  . ci/test-env.sh
  local amqp=${SNF_TEST_AMQP_URL%/*}/synnefo-demo
  # Generated once; holds credentials, so private.
  umask 077
  cat > "$SETTINGS/50-demo.conf" <<EOF
# Settings of the local demo (written by ci/demo.sh; edit 99-local.conf instead).
BACKEND_PREFIX_ID = "snfdemo-"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "$DEMO/synnefo.sqlite3"}}
SECRET_KEY_FILE = "$DEMO/secret_key"
AMQP_HOSTS = ["$amqp"]
GANETI_MASTER_IP = "$SNF_TEST_RAPI_HOST"
GANETI_CLUSTER_INFO = ("$SNF_TEST_RAPI_HOST", $SNF_TEST_RAPI_PORT, "$SNF_TEST_RAPI_USER", "$SNF_TEST_RAPI_PASSWORD")
GANETI_NODES = ["$SNF_TEST_GANETI_NODE"]
LOG_DIR = "$LOGS"
RUN_DIR = "$RUN"
STATE_DIR = "$DEMO"
STATIC_ROOT = "$DEMO/static"
WEBPROJECT_SERVE_STATIC = True
DEBUG = False
EOF
  [ -e "$SETTINGS/99-local.conf" ] || echo "# Local overrides of the demo." > "$SETTINGS/99-local.conf"
  umask 022
}

start_server() {
  if pid_alive "$RUN/gunicorn.pid"; then
    log "API/web server already runs (pid $(cat "$RUN/gunicorn.pid"))"
    return
  fi
  rm -f "$RUN/gunicorn.pid"
  # Debian's gunicorn, run by the venv's python (Debian's python3 + the source tree).
  "$VENV/bin/python" -m gunicorn --daemon --bind "127.0.0.1:$PORT" --workers 2 --pid "$RUN/gunicorn.pid" \
      --access-logfile "$LOGS/access.log" --error-logfile "$LOGS/gunicorn.log" \
      --chdir "$DEMO" synnefo.webproject.wsgi:application
  local i
  for i in $(seq 1 50); do
    curl -fs -o /dev/null "$URL/" && { log "API/web server answers on $URL"; return; }
    sleep 0.2
  done
  log "the server did not answer within 10 s; see $LOGS/gunicorn.log"; exit 1
}

stop_pidfile() {
  local f=$1 pid
  pid_alive "$f" || { rm -f "$f"; return 0; }
  pid=$(cat "$f")
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$f"
  log "stopped $(basename "$f" .pid) (pid $pid)"
}

seed() {
  # The demo user's password is made once and kept private in var/demo/credentials.
  if [ ! -s "$DEMO/credentials" ]; then
    (umask 077; echo "demo $(head -c 12 /dev/urandom | base64 | tr -d '/+=')" > "$DEMO/credentials")
  fi
  read -r DEMO_USER DEMO_PASSWORD < "$DEMO/credentials"
  DEMO_USER=$DEMO_USER DEMO_PASSWORD=$DEMO_PASSWORD "$VENV/bin/python" ci/demo_seed.py
}

write_clouds_yaml() {
  (umask 077; cat > "$ROOT/clouds.yaml" <<EOF
# For the openstack CLI: run it from $ROOT, then e.g. openstack --os-cloud asterias-demo server list
clouds:
  asterias-demo:
    auth:
      auth_url: $URL/identity/v3
      username: $DEMO_USER
      password: $DEMO_PASSWORD
      project_name: $DEMO_USER
      user_domain_name: Default
      project_domain_name: Default
    identity_api_version: 3
    region_name: default
EOF
  )
}

cmd_start() {
  ci/deps.sh
  ci/venv.sh
  ci/services.sh up rabbitmq
  ci/ganeti.sh up
  write_settings
  manage migrate --noinput -v 0
  manage link_static -v 0 >/dev/null
  seed
  start_server
  write_clouds_yaml
  cat <<EOF

Synnefo asterias demo is running.
  Web/API:      $URL/
  Compute API:  $URL/compute/v2.1/     Identity: $URL/identity/v3
  User:         $DEMO_USER
  Password:     $DEMO_PASSWORD
  openstack:    openstack --os-cloud asterias-demo server list   (clouds.yaml in $ROOT)
  Logs:         $LOGS/
  Stop:         make stop
EOF
}

cmd_stop() {
  local f
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] && stop_pidfile "$f"
  done
  ci/ganeti.sh down || true
  ci/services.sh down rabbitmq || true
  log "stopped"
}

cmd_status() {
  local f
  for f in "$RUN"/*.pid; do
    [ -e "$f" ] || continue
    if pid_alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"
    else echo "$(basename "$f" .pid): not running (stale pid file)"; fi
  done
  curl -fs -o /dev/null "$URL/" && echo "web/API: answers on $URL" || echo "web/API: no answer"
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
