#!/bin/bash
# ci/demo.sh - the whole service on this machine, for trying it out (`make demo`, `make stop`).
#
#   start  install what is needed (apt), start RabbitMQ and the Ganeti test cluster, set up
#          var/demo/ (settings, SQLite database, logs), start the daemons and the API/web
#          server on http://127.0.0.1:8000, create the demo user, flavors and image, write
#          clouds.yaml and print how to use it. Safe to run again.
#   stop   stop what start started (daemons, API server; the Ganeti cluster and RabbitMQ
#          only if they were not running before start).
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

LOG_TAG=demo
# shellcheck source=ci/lib.sh
. ci/lib.sh
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
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "$DEMO/synnefo.sqlite3",
                         "OPTIONS": {"timeout": 30}}}
SECRET_KEY_FILE = "$DEMO/secret_key"
AMQP_HOSTS = ["$amqp"]
GANETI_CLUSTER_INFO = ("$SNF_TEST_RAPI_HOST", $SNF_TEST_RAPI_PORT, "$SNF_TEST_RAPI_USER", "$SNF_TEST_RAPI_PASSWORD")
LOG_DIR = "$LOGS"
STATIC_ROOT = "$DEMO/static"
GANETI_OS = "snf-image+default"
GANETI_EVENTS_SPOOL_DIR = "$DEMO/spool"
EVENTD_PID_FILE = "$RUN/eventd.pid"
DISPATCHER_PID_FILE = "$RUN/dispatcher.pid"
API_REGION_NAME = "RegionOne"
# Catalogs and links point here whatever Host a request names; other hosts get 400.
API_PUBLIC_BASE_URL = "$URL"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
PUBLIC_NETWORK_LINK = "gnt-br0"
WEBPROJECT_SERVE_STATIC = True
DEBUG = False
# Invitations on; their mail is written as files into $DEMO/mail (no mail server needed).
INVITATIONS_ENABLED = True
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = "$DEMO/mail"
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
      --access-logfile "$LOGS/access.log" --error-logfile "$LOGS/gunicorn.log" --capture-output \
      --chdir "$DEMO" synnefo.webproject.wsgi:application
  local _
  for _ in $(seq 1 50); do
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
  if [ -n "$(json_ids user-list "name == '$DEMO_USER'")" ]; then
    printf '%s\n' "$DEMO_PASSWORD" | manage user-modify "$DEMO_USER" --password-stdin >/dev/null
  else
    printf '%s\n' "$DEMO_PASSWORD" | manage user-create "$DEMO_USER" --email demo@example.org \
      --password-stdin >/dev/null
  fi
  [ -n "$(json_ids flavor-list True)" ] || manage flavor-create 1,2 128,256,512 1 file >/dev/null
  [ -n "$(json_ids image-list "backend_id == 'debian-12-demo'")" ] || manage image-register \
    "Debian Bookworm (demo)" debian-12-demo --public --meta OS=debian >/dev/null
  # The demo's Ganeti cluster, its self-signed RAPI certificate pinned.
  (umask 077; printf '%s\n' "$SNF_TEST_RAPI_PASSWORD" > "$RUN/rapi-password")
  if [ -z "$(json_ids backend-list "clustername == '$SNF_TEST_RAPI_HOST'")" ]; then
    manage backend-add "$SNF_TEST_RAPI_HOST" --port "$SNF_TEST_RAPI_PORT" \
      --username "$SNF_TEST_RAPI_USER" --password-file "$RUN/rapi-password" \
      --certificate /var/lib/ganeti/rapi.pem >/dev/null
  else
    manage backend-modify "$SNF_TEST_RAPI_HOST" --password-file "$RUN/rapi-password" \
      --certificate /var/lib/ganeti/rapi.pem --offline no >/dev/null
  fi
  rm -f "$RUN/rapi-password"
  # The public network (routed, addresses from Ganeti's pool); a failed one is made anew.
  local id
  for id in $(json_ids network-list "public and state != 'ACTIVE'"); do
    manage network-remove "$id" >/dev/null || true
  done
  [ -n "$(json_ids network-list "public and state == 'ACTIVE'")" ] || manage network-create \
    public --public --subnet 10.251.50.0/24 --link gnt-br0 >/dev/null
  log "demo data: user $DEMO_USER, flavors, image, backend $SNF_TEST_RAPI_HOST, public network"
}

# json_ids COMMAND CONDITION: ids of the `snf-manage COMMAND --json` rows matching CONDITION
# (a Python expression over the row's fields).
json_ids() {
  manage "$1" --json | "$VENV/bin/python" -c '
import json, sys
for row in json.load(sys.stdin):
    if eval(sys.argv[1], {}, dict(row)):
        print(row["id"])' "$2"
}

# The Ganeti hook, as a wrapper without dots (Ganeti skips names with dots).
HOOK_NAME=50-snf-asterias-demo
install_hook() {
  local d
  for d in add modify reboot start stop remove; do
    mkdir -p "/etc/ganeti/hooks/instance-$d-post.d"
    printf '#!/bin/sh\nSYNNEFO_SETTINGS_DIR=%s exec %s -m synnefo.ganeti.hook\n' \
      "$SETTINGS" "$VENV/bin/python" > "/etc/ganeti/hooks/instance-$d-post.d/$HOOK_NAME"
    chmod 0755 "/etc/ganeti/hooks/instance-$d-post.d/$HOOK_NAME"
  done
}
remove_hook() { rm -f /etc/ganeti/hooks/instance-*-post.d/$HOOK_NAME; }

start_daemons() {
  mkdir -p "$DEMO/spool"
  if ! pid_alive "$RUN/eventd.pid"; then
    rm -f "$RUN/eventd.pid"
    # eventd runs only on the Ganeti master: it runs in the test cluster's UTS namespace.
    nsenter --uts=/run/ganeti-test/uts env SYNNEFO_SETTINGS_DIR="$SETTINGS" \
      "$VENV/bin/snf-ganeti-eventd"
  fi
  if ! pid_alive "$RUN/dispatcher.pid"; then
    rm -f "$RUN/dispatcher.pid"
    # one worker: the demo database is SQLite
    "$VENV/bin/snf-dispatcher" -w 1 -p "$RUN/dispatcher.pid"
  fi
  local _
  for _ in $(seq 1 50); do
    pid_alive "$RUN/eventd.pid" && pid_alive "$RUN/dispatcher.pid" && {
      log "eventd (pid $(cat "$RUN/eventd.pid")) and dispatcher (pid $(cat "$RUN/dispatcher.pid")) run"
      return; }
    sleep 0.2
  done
  log "eventd or the dispatcher did not start; see $LOGS/"; exit 1
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
    region_name: RegionOne
EOF
  )
}

cmd_start() {
  ci/deps.sh
  ci/venv.sh
  mkdir -p "$RUN"
  # `make stop` stops the broker and the cluster only if this start brought them up:
  # a developer's running test services stay up.
  ci/services.sh status rabbitmq >/dev/null 2>&1 || touch "$RUN/started-rabbitmq"
  ci/services.sh up rabbitmq
  ci/ganeti.sh status >/dev/null 2>&1 || touch "$RUN/started-ganeti"
  ci/ganeti.sh up
  write_settings
  manage migrate --noinput -v 0
  manage link_static -v 0 >/dev/null
  . ci/test-env.sh
  seed
  install_hook
  start_daemons
  start_server
  write_clouds_yaml
  cat <<EOF

Synnefo asterias demo is running.
  Web UI:       $URL/ui/   (sign in with the user below)
  API root:     $URL/
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
  remove_hook
  if [ -e "$RUN/started-ganeti" ]; then
    ci/ganeti.sh down || true
    rm -f "$RUN/started-ganeti"
  else
    log "the Ganeti test cluster was running before 'make demo': left running"
  fi
  if [ -e "$RUN/started-rabbitmq" ]; then
    ci/services.sh down rabbitmq || true
    rm -f "$RUN/started-rabbitmq"
  else
    log "RabbitMQ was running before 'make demo': left running"
  fi
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
