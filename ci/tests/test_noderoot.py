"""ci/noderoot.py: nodes are isolated clean roots on their own bridge, and nothing of a
run is left behind, also when its process was killed."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CI))
import noderoot  # noqa: E402


def netns():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def leftovers(run_dir):
    mounts = Path("/proc/self/mounts").read_text()
    return run_dir.exists() or str(run_dir) in mounts


def test_nodes_have_their_own_namespaces_and_only_their_bridge():
    with noderoot.Run("test") as run:
        net = run.net()
        a = run.node("a", noderoot.tarball("base"), net).start()
        b = run.node("b", noderoot.tarball("base"), net).start()
        assert a.run("hostname").stdout.strip() == "a.node.test"
        assert "while :" in a.run("cat /proc/1/cmdline").stdout
        links = a.run("ip -o link show | awk -F': ' '{print $2}'").stdout.split()
        assert sorted(link.split("@")[0] for link in links) == ["eth0", "lo"]
        for n in (a, b):
            hosts = n.path("/etc/hosts").read_text()
            assert "10.249.0.11 a.node.test a" in hosts and "10.249.0.12 b.node.test b" in hosts
        # b answers (refused: nothing listens) ...
        res = a.run(["bash", "-c", "exec 3<>/dev/tcp/b.node.test/9"], check=False)
        assert "Connection refused" in res.stderr, res.stderr
        # ... the rest of the world does not exist for a node.
        res = a.run(["bash", "-c", "exec 3<>/dev/tcp/10.251.0.10/5080"], check=False)
        assert "Network is unreachable" in res.stderr, res.stderr
        # A file written in one root is not in the other, nor in the lower dir.
        a.write("/root/mark", "a\n")
        assert not b.path("/root/mark").exists()
        run_dir, names = run.dir, [a.netns, b.netns]
        assert all(n in netns() for n in names)
    assert not leftovers(run_dir)
    assert not any(n in netns() for n in names)


def test_the_next_run_removes_what_a_killed_run_left():
    script = textwrap.dedent("""
        import os, sys
        sys.path.insert(0, %r)
        import noderoot
        run = noderoot.Run("killed")
        node = run.node("a", noderoot.tarball("base"), run.net()).start()
        node.run("sleep 600 &")
        print(run.dir, node.netns, node.pid, flush=True)
        os.kill(os.getpid(), 9)
    """ % str(CI))
    out = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True)
    run_dir, ns, pid = out.stdout.split()
    assert Path(run_dir).exists() and ns in netns() and Path("/proc/%s" % pid).exists()
    with noderoot.Run("test"):
        pass
    assert not leftovers(Path(run_dir))
    assert ns not in netns()
    assert not Path("/proc/%s" % pid).exists()


def test_a_tarball_is_rebuilt_when_its_package_list_changes():
    assert noderoot.tarball_key(["a", "b"]) == noderoot.tarball_key(["b", "a"])
    assert noderoot.tarball_key(["a"]) != noderoot.tarball_key(["a", "b"])
    with pytest.raises(RuntimeError, match="no apt source"):
        noderoot.host_sources("no-such-suite")
