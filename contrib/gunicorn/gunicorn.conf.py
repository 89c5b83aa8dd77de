# gunicorn settings of the Synnefo API, read by the snf-gunicorn service
# (/etc/init.d/snf-gunicorn, snf-gunicorn.service) as /etc/synnefo/gunicorn.conf.py.
# The service passes --daemon, --pid and the WSGI application itself; extra
# command-line options go in SNF_GUNICORN_OPTS of /etc/default/snf-gunicorn.
# Reference: https://docs.gunicorn.org/en/stable/settings.html
import multiprocessing

# Only nginx on this host talks to gunicorn (see the sample nginx site in
# /usr/share/doc/snf-webproject/examples/); never expose this port.
bind = ["127.0.0.1:8080"]

# Synchronous workers: each holds one request; the usual 2 x cores + 1.
workers = multiprocessing.cpu_count() * 2 + 1
timeout = 60
graceful_timeout = 30
# Requests larger than this (headers) are refused before Django sees them.
limit_request_line = 8190

# Load Django once in the master: a broken setting stops `service snf-gunicorn
# start` with an error instead of leaving a master whose workers never boot.
preload_app = True

# nginx on this host sets X-Forwarded-For / -Proto.
forwarded_allow_ips = "127.0.0.1"

accesslog = "/var/log/synnefo/gunicorn-access.log"
errorlog = "/var/log/synnefo/gunicorn-error.log"
loglevel = "info"
# The workers' stderr goes to errorlog too: that is where Django's LOGGING writes, so the
# traceback of every HTTP 500 (with its request id) lands there. Without it --daemon sends
# them to /dev/null. logrotate copies and truncates the files (copytruncate).
capture_output = True
