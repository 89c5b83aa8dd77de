"""The mac2eui64 command and link-local addresses; the EUI-64 derivation itself is
snf-common's (synnefo.common.protocol), shared with the hook and the API."""
import sys

from synnefo.common.protocol import eui64_address


def link_local(mac):
    return eui64_address("fe80::/64", mac)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.stderr.write("usage: mac2eui64 PREFIX MAC\n"
                         "prints the EUI-64 (SLAAC) address of MAC in the /64 PREFIX\n")
        return 2
    try:
        print(eui64_address(argv[0], argv[1]))
    except ValueError as exc:
        sys.stderr.write("mac2eui64: %s\n" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
