"""snf-progress-monitor: an OS provider's progress (JSON lines) -> ganeti-create-progress.

snf-image runs it with PROGRESS_MONITOR="snf-progress-monitor" and writes one JSON
object per line to its stdin, e.g. {"type": "image-copy-progress", "progress": 42.5}.
Each copy-progress line becomes a ganeti-create-progress message for the instance
(argument, or INSTANCE_NAME from Ganeti's OS environment); other lines are logged.
Broker trouble never breaks the build: messages wait in the spool for eventd.
SIGTERM/SIGINT end it at once with status 0, also when the caller ignores them (an
ignored signal stays ignored across exec): what is not sent yet stays in the spool.
"""

import argparse
import json
import logging
import os
import sys
import time

from synnefo.common import daemon
from synnefo.common.daemon import Stop, StopRequest
from synnefo.common.protocol import MSG_CREATE_PROGRESS
from synnefo.ganeti.common import Config

NAME = "snf-progress-monitor"
log = logging.getLogger(NAME)

PROGRESS_TYPES = ("image-copy-progress", "copy-progress", "progress")


def progress_message(line, instance):
    """The message for one input line, or None (not JSON, or not a progress line)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") not in PROGRESS_TYPES:
        return None
    try:
        progress = float(data.get("progress", data.get("rprogress")))
    except (TypeError, ValueError):
        return None
    now = time.time()
    return {"type": MSG_CREATE_PROGRESS, "instance": instance,
            "progress": max(0, min(100, int(progress))),
            "event_time": [int(now), int((now % 1) * 1e6)]}


def main(argv=None):
    stop = StopRequest().install()
    try:
        return _main(argv, stop)
    except Stop:
        return 0


def _main(argv, stop):
    parser = argparse.ArgumentParser(prog=NAME,
                                     description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", default=os.environ.get("INSTANCE_NAME"),
                        help="Ganeti instance name (default: $INSTANCE_NAME)")
    args = parser.parse_args(argv)
    daemon.setup_tool_logging(NAME, None, logging.INFO)  # stderr until LOG_DIR is known
    if not args.instance:
        sys.stderr.write("snf-progress-monitor: no instance name (argument or INSTANCE_NAME)\n")
        return 1
    config = Config()
    daemon.setup_tool_logging(NAME, config.settings["LOG_DIR"],
                              logging.INFO)
    try:
        return monitor(args.instance, config, stop)
    except Exception:
        log.exception("%s: failed", args.instance)
        return 1


def monitor(instance, config, stop):
    """Turn stdin's progress lines for ``instance`` into messages; -> exit status."""
    if not instance.startswith(config.prefix):
        log.info("%s is not an instance of this deployment (%s); reading only",
                 instance, config.prefix)
        for _ in sys.stdin:
            pass
        return 0
    publisher = config.publisher(
        connect_timeout=config.settings["GANETI_HOOK_AMQP_TIMEOUT"])
    topo = config.topology
    try:
        for line in sys.stdin:
            msg = progress_message(line, instance)
            if msg is None:
                if line.strip():
                    log.info("%s: %s", instance, line.strip()[:500])
                continue
            with stop.deferred():  # no half-written spool file
                publisher.spool.add(topo.exchange, topo.routing_keys["progress"], msg)
            publisher.flush()
        publisher.flush(force=True)
    finally:
        publisher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
