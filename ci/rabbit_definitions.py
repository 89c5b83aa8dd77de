"""ci/rabbit_definitions.py USER VHOST... - RabbitMQ definitions (rabbitmqctl
import_definitions) of the test account: USER with full rights on each VHOST.

The password comes in the environment (RABBIT_PASS), not on the command line where ps
shows it, and is written as RabbitMQ's salted SHA-256 hash, never in clear.
"""

import base64
import hashlib
import json
import os
import sys


def definitions(user, password, vhosts):
    salt = os.urandom(4)
    digest = hashlib.sha256(salt + password.encode()).digest()
    return {
        "users": [{"name": user, "password_hash": base64.b64encode(salt + digest).decode(),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}],
        "vhosts": [{"name": v} for v in vhosts],
        "permissions": [{"user": user, "vhost": v, "configure": ".*", "write": ".*",
                         "read": ".*"} for v in vhosts],
    }


if __name__ == "__main__":
    if len(sys.argv) < 3 or "RABBIT_PASS" not in os.environ:
        sys.exit("usage: RABBIT_PASS=... ci/rabbit_definitions.py USER VHOST...")
    print(json.dumps(definitions(sys.argv[1], os.environ["RABBIT_PASS"], sys.argv[2:])))
