"""guest_ssh.py HOST KEYFILE PASSWORD TIMEOUT PATH: what a user sees of a new guest over SSH.

Run inside the cluster's network namespace (the guests' addresses are routed there
only). Waits up to TIMEOUT seconds for SSH to accept KEYFILE as root, then prints one
JSON object: when that was (epoch) and seconds of waiting, the hostname, PATH's
mode/owner/group and contents (base64), and whether a login with PASSWORD (no key),
and one with a wrong password, work.
"""

import base64
import json
import sys
import time

import paramiko


def connect(host, **auth):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # a brand-new guest
    client.connect(host, 22, "root", timeout=5, banner_timeout=10, auth_timeout=10,
                   allow_agent=False, look_for_keys=False, **auth)
    return client


def run(client, cmd):
    _, out, _ = client.exec_command(cmd, timeout=30)
    return out.read()


def main(host, keyfile, password, timeout, path):
    t0 = time.monotonic()
    while True:
        try:
            client = connect(host, key_filename=keyfile)
            break
        except (OSError, paramiko.SSHException) as e:
            if time.monotonic() - t0 > timeout:
                print(json.dumps({"error": "no SSH with the key within %s s: %s" % (timeout, e)}))
                return 1
            time.sleep(1)
    result = {"ssh_at": time.time(), "ssh_after": round(time.monotonic() - t0, 1),
              "hostname": run(client, "hostname").decode().strip(),
              "stat": run(client, "stat -c '%a %U %G' " + path).decode().strip(),
              "contents": base64.b64encode(run(client, "cat " + path)).decode()}
    client.close()
    for key, pw in (("password_login", password), ("wrong_password_login", password + "x")):
        try:
            connect(host, password=pw).close()
            result[key] = True
        except paramiko.AuthenticationException:
            result[key] = False
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]))
