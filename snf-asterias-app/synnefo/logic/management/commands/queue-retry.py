"""snf-manage queue-retry [--queue Q] [--keep-zombies]"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from synnefo.common.amqp_client import AMQPClient, AMQPError, Topology

HEADER = "from-dead-letter"


class Command(BaseCommand):
    help = ("Send the messages parked in the dead-letter queues (<queue>-dl) back to their "
            "queues. A message that was already retried once and came back is dropped "
            "(a loop), unless --keep-zombies.")

    def add_arguments(self, parser):
        parser.add_argument("--queue", help="only this event queue (e.g. snf-events-op)")
        parser.add_argument("--keep-zombies", action="store_true",
                            help="retry messages that already came back from a retry")
        parser.add_argument("--dry-run", action="store_true", help="only count them")

    def handle(self, *args, **options):
        topo = Topology(settings.BACKEND_PREFIX_ID,
                        exchange=settings.EXCHANGE_GANETI)
        queues = list(topo.queues)
        if options["queue"]:
            if options["queue"] not in topo.queues:
                raise CommandError("%s is not one of %s" % (options["queue"],
                                                            ", ".join(sorted(queues))))
            queues = [options["queue"]]
        client = AMQPClient(settings.AMQP_HOSTS, confirms=True)
        try:
            client.connect()
            client.declare_topology(topo, settings.AMQP_QUEUE_TYPE)
        except AMQPError as exc:
            raise CommandError(str(exc)) from None
        try:
            for queue in queues:
                retried = dropped = 0
                while True:
                    delivery = client.get(queue + "-dl")
                    if delivery is None:
                        break
                    if options["dry_run"]:
                        retried += 1
                        continue  # left unsettled: back in the queue on disconnect
                    if delivery.headers.get(HEADER) and not options["keep_zombies"]:
                        self.stderr.write("dropping a message that failed again after a "
                                          "retry: %s" % _preview(delivery.body))
                        dropped += 1
                    else:
                        client.publish(topo.exchange, topo.queues[queue], delivery.body,
                                       headers={HEADER: True})
                        retried += 1
                    delivery.ack()
                self.stdout.write("%s: %d %s, %d dropped" % (
                    queue, retried, "dead letter(s)" if options["dry_run"] else "retried",
                    dropped))
        finally:
            client.close()


def _preview(body):
    try:
        data = json.loads(body)
        return json.dumps({k: data.get(k) for k in ("type", "instance", "operation",
                                                    "jobId", "status")})
    except (ValueError, AttributeError):
        return repr(body[:120])
