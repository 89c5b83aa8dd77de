"""snf-ganeti-eventd: Ganeti's job queue -> ganeti-op-status messages on RabbitMQ.

Watches the job queue directory with inotify. Ganeti replaces ``job-N`` by an atomic
rename on every change, so each IN_MOVED_TO (or IN_CLOSE_WRITE) of a job file means
"read it again": one message per op that concerns a single instance of this
deployment (ganeti-op-status, key ganeti.<p>.event.op), and one per OP_NETWORK_* op
on a network of this deployment, ``<prefix>net-<id>`` (ganeti-network-status, key
ganeti.<p>.event.network). Messages are spooled on disk and removed only once a broker confirmed
them; the spool also collects what the hook and the progress monitor could not send
themselves, and eventd sends it (after an outage, in order).

Runs only on the Ganeti master, checked against ssconf at start and periodically.

SIGTERM/SIGINT stop it at once (daemon.StopRequest), wherever it waits (a stalled
broker included), except while a job's messages are being written to the spool; a
message that was sent but not yet removed from the spool is sent again at the next
start (consumers are idempotent).
"""

import argparse
import logging
import os
import sys
import time

import pyinotify

from synnefo.common import daemon
from synnefo.ganeti.common import Config, master_problem
from synnefo.ganeti.jobs import JOB_FILE_RE, network_messages, op_messages, read_job

log = logging.getLogger("snf-ganeti-eventd")

NAME = "snf-ganeti-eventd"


class EventDaemon:
    def __init__(self, config, cluster=None, stop=None):
        self.config = config
        self.cluster = cluster or config.ssconf("cluster_name") or ""
        self.publisher = config.publisher()
        self.stop_request = stop or daemon.StopRequest()
        self.published = 0

    # -- job files ------------------------------------------------------------------
    def job_changed(self, path):
        job = read_job(path)
        if job is None:
            return
        topo = self.config.topology
        with self.stop_request.deferred():  # no half-written spool file
            for kind, messages, subject in (
                    ("op", op_messages(job, self.config.prefix, self.cluster), "instance"),
                    ("network", network_messages(job, self.config.prefix, self.cluster),
                     "network")):
                for msg in messages:
                    log.debug("job %s %s %s: %s", msg["jobId"], msg["operation"],
                              msg[subject], msg["status"])
                    self.publisher.spool.add(topo.exchange, topo.routing_keys[kind], msg)
                    self.published += 1
        self.publisher.flush()

    def scan_queue(self):
        """Publish the state of every job still in the queue (catch up after downtime);
        the number of job files read."""
        try:
            names = os.listdir(self.config.queue_dir)
        except OSError as exc:
            log.error("cannot read the job queue %s: %s", self.config.queue_dir, exc)
            return 0
        jobs = sorted((int(m.group(1)), n) for n in names for m in [JOB_FILE_RE.match(n)] if m)
        for _, name in jobs:
            self.job_changed(os.path.join(self.config.queue_dir, name))
        return len(jobs)

    # -- main loop --------------------------------------------------------------------
    def run(self, check_master=True):
        wm = pyinotify.WatchManager()
        daemon_self = self

        class Handler(pyinotify.ProcessEvent):
            def process_default(self, event):
                if event.dir:
                    return
                if event.path == daemon_self.config.queue_dir:
                    if JOB_FILE_RE.match(event.name):
                        daemon_self.job_changed(event.pathname)
                else:  # the spool: something the hook or the monitor left for us
                    daemon_self.publisher.flush()

        mask = pyinotify.IN_MOVED_TO | pyinotify.IN_CLOSE_WRITE
        if wm.add_watch(self.config.queue_dir, mask).get(self.config.queue_dir, -1) < 0:
            log.error("cannot watch the job queue %s", self.config.queue_dir)
            return 1
        wm.add_watch(self.publisher.spool.directory, pyinotify.IN_MOVED_TO)
        notifier = pyinotify.Notifier(wm, Handler(), timeout=1000)
        log.info("watching %s for cluster %s, prefix %s, spool %s", self.config.queue_dir,
                 self.cluster, self.config.prefix, self.publisher.spool.directory)
        started = time.monotonic()
        # Jobs that change meanwhile are reported by inotify after the scan: an unarchived
        # queue of thousands of jobs delays the first events by this long.
        log.info("caught up with the %d job files in the queue in %.1f s", self.scan_queue(),
                 time.monotonic() - started)
        master_check_interval = self.config.settings["EVENTD_MASTER_CHECK_INTERVAL"]
        next_master_check = time.monotonic() + master_check_interval
        try:
            while not self.stop_request.requested:
                if notifier.check_events():
                    notifier.read_events()
                    notifier.process_events()
                if len(self.publisher.spool):
                    self.publisher.flush()
                if check_master and time.monotonic() > next_master_check:
                    problem = master_problem(self.config)
                    if problem:
                        log.error("%s: stopping", problem)
                        return 1
                    next_master_check = time.monotonic() + master_check_interval
        finally:
            notifier.stop()
            self.publisher.close()
        return 0

    def stop(self):
        """Stop at the next turn of the loop (for callers without signals, e.g. tests)."""
        self.stop_request.requested = True


def main(argv=None):
    parser = argparse.ArgumentParser(prog=NAME, description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--debug", action="store_true",
                        help="stay in the foreground and log to stderr")
    parser.add_argument("-p", "--pid-file", help="pid file (default: EVENTD_PID_FILE)")
    parser.add_argument("--no-master-check", action="store_true",
                        help="run even if ssconf names another master (tests only)")
    args = parser.parse_args(argv)
    config = Config()
    if not args.no_master_check:
        problem = master_problem(config)
        if problem:
            sys.stderr.write("%s: %s\n" % (NAME, problem))
            return 1
    if not os.path.isdir(config.queue_dir):
        sys.stderr.write("%s: job queue directory %s does not exist (GANETI_QUEUE_DIR)\n"
                         % (NAME, config.queue_dir))
        return 1
    handler = daemon.setup_logging(NAME, debug=args.debug,
                                   log_dir=config.settings["LOG_DIR"])
    eventd = EventDaemon(config)
    return daemon.run(lambda: eventd.run(check_master=not args.no_master_check), NAME,
                      args.pid_file or config.settings["EVENTD_PID_FILE"], debug=args.debug,
                      log_handler=handler, stop=eventd.stop_request)


if __name__ == "__main__":
    sys.exit(main())
