"""The Ganeti OS API scripts of snf-image+default: create, import, export, rename, verify.

Ganeti runs /usr/share/ganeti/os/snf-image/<action>, which runs
``python3 -I -m synnefo.snf_image.provider <action>`` with Ganeti's OS environment
(DISK_0_PATH, INSTANCE_NAME, OSP_* ...). Output goes to Ganeti's OS log; the last
line of a failure is ``snf-image error: [code] message``, which the API shows as the
server's fault.
"""

import logging
import os
import re
import shutil
import sys
import time

from synnefo.snf_image import config as configuration
from synnefo.snf_image import disk, helper, params, progress, source
from synnefo.snf_image.errors import ImageError

log = logging.getLogger("snf-image")

_ON = ("yes", "true", "1", "on")
_OFF = ("no", "false", "0", "off")


def _flag(props, key, values):
    return props.get(key, "").strip().lower() in values


def enabled(props, task, switch=None):
    """An image property turns a task off: SWITCH=no, EXCLUDE_TASK_<TASK>=yes or
    EXCLUDE_ALL_TASKS=yes."""
    return not (_flag(props, "EXCLUDE_ALL_TASKS", _ON)
                or _flag(props, "EXCLUDE_TASK_" + task, _ON)
                or (switch is not None and _flag(props, switch, _OFF)))


def hostname_for(instance):
    label = re.sub(r"[^a-z0-9-]", "-", instance.split(".")[0].lower()).strip("-")
    return label[:63] or "localhost"


def _is_ssh_key(f):
    return f.path.endswith("/.ssh/authorized_keys")


def plan(p, instance):
    """The helper job ``p`` calls for (None: nothing to do) and warnings."""
    props, warnings = p.properties, []
    extdump = p.format == "extdump"
    family = props.get("OSFAMILY", "linux").strip().lower()
    if family != "linux":
        if extdump:
            raise ImageError("extdump images hold a Linux filesystem, not OSFAMILY=%s"
                             % family[:20])
        warnings.append("no customisation for OSFAMILY=%s" % family[:20])
        return None, warnings
    try:
        root = 1 if extdump else int(props.get("ROOT_PARTITION") or 1)
    except ValueError:
        raise ImageError("invalid ROOT_PARTITION property %r"
                         % props["ROOT_PARTITION"][:20]) from None
    if not 1 <= root <= 128:
        raise ImageError("invalid ROOT_PARTITION property %d" % root)
    job = helper.Job(instance, root, extdump)
    if enabled(props, "SETHOSTNAME", "HOSTNAME"):
        job.env["GUEST_HOSTNAME"] = hostname_for(instance)
    users = props.get("USERS", "root").split()
    if any(not params.ACCOUNT.match(u) for u in users):
        raise ImageError("invalid USERS property")
    if p.password and users and enabled(props, "CHANGEPASSWORD", "PASSWORD"):
        job.shadow_hash = helper.password_hash(p.password)
        job.env["PASSWORD_USERS"] = " ".join(users)
    ssh = enabled(props, "ADDSSHKEYS", "SSH")
    if enabled(props, "PERSONALIZE", "PERSONALITY"):
        job.files = [f for f in p.personality if ssh or not _is_ssh_key(f)]
    elif ssh:
        job.files = [f for f in p.personality if _is_ssh_key(f)]
    if p.user_data and enabled(props, "NOCLOUD", "CLOUDINIT"):
        job.user_data = p.user_data
    return (job if job.tasks else None), warnings


def _monitor_env():
    # The progress monitor needs the instance's name, never the secret parameters.
    return {k: v for k, v in os.environ.items() if not k.startswith("OSP_")}


def create(env, config):
    p = params.from_env(env)
    instance = env.get("INSTANCE_NAME", "")
    if int(env.get("DISK_COUNT", "0") or 0) < 1 or not env.get("DISK_0_PATH"):
        raise ImageError("the instance has no disk to deploy the image to")
    job, warnings = plan(p, instance)
    target = disk.Target(env["DISK_0_PATH"],
                         disk.PART_START * disk.SECTOR if p.format == "extdump" else 0)
    report = None

    def progress_factory(total):
        nonlocal report
        report = progress.Progress(config["PROGRESS_MONITOR"], total,
                                   config.number("PROGRESS_INTERVAL"), _monitor_env())
        return report

    try:
        shown = source.shown(p.image) if p.is_url else p.image
        log.info("deploying %s image %s onto %s (%d MiB)", p.format, shown,
                 env["DISK_0_PATH"], target.size >> 20)
        sink = disk.Copy(target, p.format, p.checksum, progress_factory)
        started = time.monotonic()
        source.copy(p, sink, config)
        log.info("copied %d bytes in %.1f s", sink.done, time.monotonic() - started)
        if job is not None:
            log.info("customising in a helper VM: %s", ", ".join(job.tasks))
            os.fsync(target.fd)
            warnings += helper.run(job, env["DISK_0_PATH"], config)
        for w in warnings:
            log.warning("%s", w)
            if report is not None:
                report.message("image-warning", w)
    except BaseException:
        target.wipe()
        raise
    finally:
        target.close()
        if report is not None:
            report.close()


def import_(env, config):
    with open(env["IMPORT_DEVICE"], "r+b") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, disk.CHUNK)


def export(env, config):
    with open(env["EXPORT_DEVICE"], "rb") as f:
        shutil.copyfileobj(f, sys.stdout.buffer, disk.CHUNK)


def rename(env, config):
    # The guest's hostname is set at create only: renaming a Ganeti instance does
    # not reach into a running guest's filesystem.
    log.info("rename %s -> %s: nothing to do", env.get("OLD_INSTANCE_NAME"),
             env.get("INSTANCE_NAME"))


def verify(env, config):
    params.verify(env)


ACTIONS = {"create": create, "import": import_, "export": export, "rename": rename,
           "verify": verify}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="snf-image %(levelname)s: %(message)s")
    if len(argv) != 1 or argv[0] not in ACTIONS:
        sys.stderr.write("usage: provider {%s}\n" % "|".join(ACTIONS))
        return 2
    try:
        ACTIONS[argv[0]](os.environ, configuration.load())
    except ImageError as e:
        sys.stderr.write(e.line() + "\n")
        return 1
    except Exception as e:  # noqa: BLE001 - Ganeti shows the last line to the user
        log.exception("%s failed", argv[0])
        sys.stderr.write(ImageError("internal error of the OS provider (%s)"
                                    % type(e).__name__, 500).line() + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
