"""Defaults of the compute service (snf-asterias-app); see conf/20-snf-asterias-app-*.conf."""

# Flavor disk templates Ganeti may be asked for, and the one used when none is given.
GANETI_DISK_TEMPLATES = ("diskless", "file", "sharedfile", "plain", "drbd", "rbd")
DEFAULT_GANETI_DISK_TEMPLATE = "file"
