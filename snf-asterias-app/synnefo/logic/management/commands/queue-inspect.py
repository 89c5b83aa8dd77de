"""snf-manage queue-inspect [--peek N --queue Q] [--json]"""

import json

from django.conf import settings
from django.core.management.base import CommandError

from synnefo.common.amqp_client import (
    BROKER_ERRORS,
    AMQPClient,
    AMQPError,
    Topology,
    describe_error,
    redact,
)
from synnefo.logic.dead_letters import peek_messages
from synnefo.logic.management.commands._output import AdminCommand


class Command(AdminCommand):
    help = ("Show this deployment's Ganeti event queues: messages waiting, consumers and "
            "dead letters. With --peek N --queue Q, show the first N messages of Q (an "
            "event queue or its -dl twin) without consuming them: they are fetched and "
            "returned to the queue at once (they count as redelivered). Read-only: "
            "declares nothing.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--queue", help="an event queue or dead-letter queue "
                                            "(e.g. snf-events-op or snf-events-op-dl)")
        parser.add_argument("--peek", type=int, metavar="N", default=0,
                            help="show the first N messages of --queue")

    def handle(self, *args, **options):
        topo = Topology(settings.BACKEND_PREFIX_ID,
                        exchange=settings.EXCHANGE_GANETI)
        known = list(topo.queues) + topo.dead_letter_queues()
        queue = options["queue"]
        if queue and queue not in known:
            raise CommandError("%s is not a queue of this deployment (%s)"
                               % (queue, ", ".join(sorted(known))))
        if options["peek"] < 0:
            raise CommandError("--peek needs a positive number of messages")
        if options["peek"] and not queue:
            raise CommandError("--peek needs --queue")
        client = AMQPClient(settings.AMQP_HOSTS, confirms=False)
        try:
            client.connect()
        except AMQPError as exc:
            raise CommandError(str(exc)) from None
        try:
            if options["peek"]:
                self.emit_messages(peek(client, queue, options["peek"]), options)
            else:
                names = [queue] if queue else list(topo.queues)
                self.emit([queue_row(client, q, dead_letters=q in topo.queues)
                           for q in names],
                          ["queue", "messages", "consumers", "dead_letters"], options)
        except BROKER_ERRORS as exc:
            raise CommandError("AMQP broker %s: %s" % (redact(client.url or "?"),
                                                       describe_error(exc))) from None
        finally:
            client.close()

    def emit_messages(self, messages, options):
        if options.get("json"):
            self.stdout.write(json.dumps(messages, indent=2, sort_keys=True, default=str))
            return
        if not messages:
            self.stdout.write("no messages")
        for m in messages:
            extra = ""
            if m.get("death"):
                extra = "  (dead-lettered: %s from %s)" % (m["death"].get("reason"),
                                                           m["death"].get("queue"))
            self.stdout.write("#%d%s%s" % (m["position"], " redelivered" if m["redelivered"]
                                           else "", extra))
            self.stdout.write("  " + json.dumps(m["body"], sort_keys=True)
                              if not isinstance(m["body"], str) else "  " + m["body"])


def queue_row(client, queue, dead_letters=True):
    counts = client.queue_counts(queue)
    row = {"queue": queue, "messages": None, "consumers": None, "exists": counts is not None}
    if counts is not None:
        row["messages"], row["consumers"] = counts
    if dead_letters:
        dl = client.queue_counts(queue + "-dl")
        row["dead_letter_queue"] = queue + "-dl"
        row["dead_letters"] = dl[0] if dl is not None else None
    return row


def peek(client, queue, count):
    if client.queue_counts(queue) is None:
        raise CommandError("queue %s does not exist (yet): nothing published to it" % queue)
    return peek_messages(client, queue, count)
