"""The /etc/nfdhcpd/nfdhcpd.conf INI file."""
import configparser
import ipaddress
import re
from dataclasses import dataclass, field

DEFAULT_CONFIG = "/etc/nfdhcpd/nfdhcpd.conf"


class ConfigError(Exception):
    """The configuration file is missing, unreadable or has a bad value."""


@dataclass
class Config:
    # [general]
    datapath: str = "/var/lib/nfdhcpd"
    pidfile: str = "/run/nfdhcpd/nfdhcpd.pid"
    logdir: str = "/var/log/nfdhcpd"
    user: str = "nobody"
    # [dhcp]
    enable_dhcp: bool = True
    dhcp_queue: int = 42
    server_ip: str = ""
    nameservers: list = field(default_factory=list)
    domain: str = ""
    lease_lifetime: int = 604800
    lease_renewal: int = 3600
    # [ipv6]
    enable_ipv6: bool = True
    ra_period: int = 300
    rs_queue: int = 43
    ns_queue: int = 44
    nameservers6: list = field(default_factory=list)
    domains6: list = field(default_factory=list)
    enable_dhcpv6: bool = True
    dhcpv6_queue: int = 45

    @property
    def queues(self):
        """{queue number: kind} of the queues this configuration enables."""
        q = {}
        if self.enable_dhcp:
            q[self.dhcp_queue] = "dhcp"
        if self.enable_ipv6:
            q[self.rs_queue] = "rs"
            q[self.ns_queue] = "ns"
            if self.enable_dhcpv6:
                q[self.dhcpv6_queue] = "dhcpv6"
        if len(q) != sum([self.enable_dhcp, 2 * self.enable_ipv6,
                          self.enable_ipv6 and self.enable_dhcpv6]):
            raise ConfigError("the dhcp/rs/ns/dhcpv6 queue numbers must all differ")
        return q


def _split(value):
    return [v for v in re.split(r"[,\s]+", value or "") if v]


def _addresses(values, version, where):
    out = []
    for v in values:
        try:
            addr = ipaddress.ip_address(v)
        except ValueError:
            raise ConfigError("%s: %r is not an IP address" % (where, v)) from None
        if addr.version != version:
            raise ConfigError("%s: %s is not an IPv%d address" % (where, v, version))
        out.append(str(addr))
    return out


def parse_config(text, source="<string>"):
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read_string(text, source=source)
    except configparser.Error as exc:
        raise ConfigError("%s: %s" % (source, exc)) from None
    cfg = Config()
    known = {
        "general": {"datapath": str, "pidfile": str, "logdir": str, "user": str},
        "dhcp": {"enable_dhcp": bool, "dhcp_queue": int, "server_ip": str,
                 "nameservers": list, "domain": str, "lease_lifetime": int,
                 "lease_renewal": int},
        "ipv6": {"enable_ipv6": bool, "ra_period": int, "rs_queue": int, "ns_queue": int,
                 "nameservers": list, "domains": list, "enable_dhcpv6": bool,
                 "dhcpv6_queue": int},
    }
    for section in cp.sections():
        if section not in known:
            raise ConfigError("%s: unknown section [%s] (expected general, dhcp, ipv6)"
                              % (source, section))
        for key in cp[section]:
            kind = known[section].get(key)
            where = "%s: [%s] %s" % (source, section, key)
            if kind is None:
                raise ConfigError("%s: unknown setting" % where)
            attr = key + "6" if section == "ipv6" and key in ("nameservers", "domains") else key
            try:
                if kind is bool:
                    value = cp.getboolean(section, key)
                elif kind is int:
                    value = cp.getint(section, key)
                    if value < 0:
                        raise ValueError
                elif kind is list:
                    value = _split(cp.get(section, key))
                else:
                    value = cp.get(section, key).strip()
            except ValueError:
                raise ConfigError("%s: bad value %r" % (where, cp.get(section, key))) from None
            setattr(cfg, attr, value)
    cfg.nameservers = _addresses(cfg.nameservers, 4, "%s: [dhcp] nameservers" % source)
    cfg.nameservers6 = _addresses(cfg.nameservers6, 6, "%s: [ipv6] nameservers" % source)
    if cfg.server_ip:
        cfg.server_ip = _addresses([cfg.server_ip], 4, "%s: [dhcp] server_ip" % source)[0]
    for q in ("dhcp_queue", "rs_queue", "ns_queue", "dhcpv6_queue"):
        if getattr(cfg, q) > 65535:
            raise ConfigError("%s: %s must be 0..65535" % (source, q))
    if cfg.ra_period < 1:
        raise ConfigError("%s: [ipv6] ra_period must be at least 1 second" % source)
    cfg.queues  # validates that queue numbers differ
    return cfg


def load_config(path=DEFAULT_CONFIG):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError("cannot read config file %s: %s" % (path, exc.strerror)) from None
    return parse_config(text, source=path)
