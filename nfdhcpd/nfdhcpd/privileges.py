"""Dropping root while keeping CAP_NET_ADMIN (verdicts) and CAP_NET_RAW (AF_PACKET)."""
import grp
import os
import pwd

import prctl

KEEP = (prctl.CAP_NET_ADMIN, prctl.CAP_NET_RAW)


def drop_privileges(user):
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise RuntimeError("user %r from [general] user does not exist" % user) from None
    if os.getuid() != 0:
        return  # nothing to drop (tests of the CLI as a normal user)
    # The bounding set caps what any exec'd program could regain.
    prctl.capbset.limit(*KEEP)
    prctl.securebits.keep_caps = True
    os.setgroups([g.gr_gid for g in grp.getgrall() if user in g.gr_mem])
    os.setgid(pw.pw_gid)
    os.setuid(pw.pw_uid)
    prctl.cap_permitted.limit(*KEEP)
    prctl.cap_inheritable.limit()
    prctl.cap_effective.limit(*KEEP)
    # setuid() cleared the effective set; raise the two we kept.
    prctl.cap_effective.net_admin = True
    prctl.cap_effective.net_raw = True
    prctl.set_no_new_privs(1)
