"""Debian's Tempest (python3-tempest) against a whole test deployment.

The deployment is the real one, support/e2e_service.py's (as in test_e2e_openstacksdk.py):
gunicorn, snf-ganeti-eventd, snf-ganeti-hook, snf-dispatcher, a PostgreSQL database of its
own, the real RabbitMQ and the Ganeti test cluster (fake hypervisor); Tempest's flavors are
diskless, so an instance builds in one short Ganeti job.

Tempest runs the tests of the features we claim: ci/tempest/include.txt selects them,
ci/tempest/exclude.txt removes tests of an included class that need something we do not
offer (each with its reason), and tempest.conf (written here) turns off the features
Tempest itself knows as optional. Its results become $SNF_TEST_REPORTS/tempest.xml (one
JUnit test per Tempest test, counted in ci/test.sh's TOTAL). The test fails on any Tempest
failure, and on any skip whose reason docs/api.md's table of skips does not explain as a
feature we do not claim.

Identity: every user is their own project, so Tempest gets pre-provisioned accounts
(accounts.yaml, one user per account, none admin): tests needing admin credentials or
dynamic users skip (docs/api.md says which).

    source ci/test-env.sh; cd snf-asterias-app
    SNF_TEST_DB=postgresql ../.venv/bin/python -m pytest -s tests/test_tempest.py
"""

import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from support.e2e_service import e2e_service
from support.live import REPO, tail
from support.subunit_junit import FAILED, SKIPPED, read_results, write_junit

pytestmark = pytest.mark.integration

PASSWORD = "tempest-pass-" + "5"
# Pre-provisioned accounts: a test class locks one or two (primary, alt) while it runs.
ACCOUNTS = 8
CONCURRENCY = 3  # the time goes to waiting for Ganeti jobs, not to CPU
LISTS = os.path.join(REPO, "ci", "tempest")
API_DOC = os.path.join(REPO, "docs", "api.md")
# Tempest's own budget for the whole run; a hung build must not hold make test for ever.
RUN_TIMEOUT = 1500


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tempest")
    (tmp / "images").mkdir()
    extra = ("IMAGE_STORE_DIR = %r\n"
             # Tempest's servers tests create a few servers per account at once
             "QUOTA_MAX_SERVERS = 10\nQUOTA_MAX_CORES = 20\nQUOTA_MAX_RAM = 4096\n"
             "QUOTA_MAX_NETWORKS = 20\n" % str(tmp / "images"))
    with e2e_service(tmp, extra) as d:
        for i in range(1, ACCOUNTS + 1):
            d.manage("user-create", "tempest%d" % i, "--password-stdin",
                     stdin=PASSWORD + "\n")
        # Diskless: Ganeti runs no OS create step, so a build is one quick job.
        tempest_flavors = json.loads(d.manage("flavor-create", "1", "64,96", "1", "diskless",
                                              "--json"))
        d.flavors = sorted((f["ram"], str(f["id"])) for f in tempest_flavors)
        d.images = {}
        for name in ("cirros", "cirros-alt"):
            d.images[name] = str(json.loads(d.manage("image-register", name, name + "-diskdump",
                                                     "--public", "--json"))["id"])
        yield d


def tempest_conf(d, workspace):
    """tempest.conf: our endpoints, the pre-provisioned accounts and the optional features
    we offer (every one turned off here is "not claimed" in docs/api.md)."""
    (flavor_ram, flavor), (_, flavor_alt) = d.flavors
    images = d.images
    accounts = workspace / "etc" / "accounts.yaml"
    accounts.write_text("".join(
        "- username: tempest%d\n  project_name: tempest%d\n  password: %s\n"
        "  domain_name: Default\n  resources:\n    network: public\n" % (i, i, PASSWORD)
        for i in range(1, ACCOUNTS + 1)))
    sections = {
        "DEFAULT": {"log_file": str(workspace / "tempest.log")},
        "auth": {"use_dynamic_credentials": "false", "test_accounts_file": str(accounts),
                 "default_credentials_domain_name": "Default",
                 "create_isolated_networks": "false"},
        "identity": {"uri_v3": d.base + "/identity/v3", "auth_version": "v3",
                     "region": "RegionOne", "v3_endpoint_type": "public"},
        "identity-feature-enabled": {"api_v2": "false", "api_v3": "true", "trust": "false",
                                     "project_tags": "false", "application_credentials":
                                     "false", "access_rules": "false",
                                     "security_compliance": "false"},
        "compute": {"image_ref": images["cirros"], "image_ref_alt": images["cirros-alt"],
                    "flavor_ref": flavor, "flavor_ref_alt": flavor_alt,
                    "fixed_network_name": "public", "build_timeout": "120",
                    "build_interval": "1", "min_microversion": "2.1",
                    "max_microversion": "2.1", "region": "RegionOne"},
        "compute-feature-enabled": {
            "resize": "false", "pause": "false", "shelve": "false", "suspend": "false",
            "cold_migration": "false", "live_migration": "false", "console_output": "false",
            "rescue": "false", "snapshot": "false", "change_password": "false",
            "interface_attach": "false", "metadata_service": "false", "config_drive": "false",
            "personality": "true", "vnc_console": "false", "serial_console": "false",
            "spice_console": "false", "attach_encrypted_volume": "false",
            "block_migration_for_live_migration": "false", "disk_config": "false",
            "hostname_fqdn_sanitization": "false", "stable_rescue": "false",
            "volume_multiattach": "false", "shelve_migrate": "false",
            "swap_volume": "false", "volume_backed_live_migration": "false"},
        "validation": {"run_validation": "false"},
        "service_available": {"nova": "true", "glance": "true", "neutron": "true",
                              "cinder": "false", "swift": "false", "heat": "false",
                              "horizon": "false"},
        "image": {"region": "RegionOne", "container_formats": "bare", "disk_formats": "raw",
                  "build_interval": "1"},
        "image-feature-enabled": {"api_v1": "false", "api_v2": "true",
                                  "import_image": "false", "os_glance_reserved": "false",
                                  "manage_locations": "false"},
        "network": {"region": "RegionOne", "public_network_id": str(d.network["id"]),
                    "shared_physical_network": "false",
                    # an IPv6 subnet here is a /64 (guests take EUI-64 addresses by SLAAC)
                    "project_network_v6_cidr": "2001:db8::/48",
                    "project_network_v6_mask_bits": "64"},
        "network-feature-enabled": {"ipv6": "true", "ipv6_subnet_attributes": "true",
                                    "api_extensions": "",
                                    "port_security": "false", "floating_ips": "false"},
        "oslo_concurrency": {"lock_path": str(workspace / "locks")},
    }
    (workspace / "etc" / "tempest.conf").write_text("".join(
        "[%s]\n%s\n" % (name, "".join("%s = %s\n" % kv for kv in values.items()))
        for name, values in sections.items()))


def skip_reasons():
    """Tempest's skip messages that docs/api.md's table of skips explains (a feature we do
    not claim): the first column of the rows under "### Skipped tests"."""
    text = open(API_DOC).read().split("### Skipped tests", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", text, re.M)


def test_tempest(deployment, tmp_path):
    workspace = tmp_path / "workspace"
    subprocess.run(["tempest", "init", "--workspace-path", str(tmp_path / "workspaces.yaml"),
                    str(workspace)], check=True, capture_output=True, timeout=120)
    tempest_conf(deployment, workspace)
    started = time.monotonic()
    proc = subprocess.run(
        ["tempest", "run", "--concurrency", str(CONCURRENCY),
         "--include-list", os.path.join(LISTS, "include.txt"),
         "--exclude-list", os.path.join(LISTS, "exclude.txt")],
        cwd=workspace, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    wall = time.monotonic() - started
    subunit_file = tmp_path / "tempest.subunit"
    with open(subunit_file, "wb") as f:
        subprocess.run(["stestr", "last", "--subunit"], cwd=workspace, stdout=f, check=True,
                       timeout=120)
    results = read_results(subunit_file)
    reports = Path(os.environ.get("SNF_TEST_REPORTS") or tmp_path)
    write_junit(results, reports / "tempest.xml", "tempest")
    shutil.copy(subunit_file, deployment.tmp / "tempest.subunit")

    per_api = Counter((test_id.split(".")[2], outcome) for test_id, outcome, _ in results)
    for api in sorted({a for a, _ in per_api}):
        print("tempest.api.%s: %d passed, %d skipped, %d failed" % (
            api, per_api[(api, "passed")], per_api[(api, SKIPPED)], per_api[(api, FAILED)]))
    print("tempest wall time: %.0f s (concurrency %d)" % (wall, CONCURRENCY))
    failures = ["%s\n%s" % (t, m[-2000:]) for t, o, m in results if o == FAILED]
    assert results, "tempest ran no test:\n%s%s" % (proc.stdout[-3000:], proc.stderr[-3000:])
    assert not failures, "%d tempest failures:\n%s\n--- gunicorn log:\n%s" % (
        len(failures), "\n\n".join(failures), tail(str(deployment.tmp / "gunicorn.log")))
    reasons = skip_reasons()
    unexplained = sorted("%s: %s" % (t, m) for t, o, m in results
                         if o == SKIPPED and not any(r in m for r in reasons))
    assert not unexplained, ("skipped, but docs/api.md does not say the feature is not "
                             "claimed:\n" + "\n".join(unexplained))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
