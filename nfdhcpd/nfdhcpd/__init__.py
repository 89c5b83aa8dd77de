"""nfdhcpd: answers DHCP, router/neighbour solicitations and DHCPv6 for VM taps.

Packets reach it through NFQUEUE; replies are built with scapy and written
straight onto the tap with an AF_PACKET socket.
"""
