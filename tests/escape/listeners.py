#!/usr/bin/python3
# Host-side listeners for the escape battery (started by
# tests/integration/test-escape.sh, never reachable from a contained build
# script): TCP, UDP (echo), DNS over UDP (answers A 192.0.2.53) on
# 127.0.0.1, and an abstract unix socket.  Each counts what it receives in
# DIR/count-{tcp,udp,dns,abstract}; DIR/ready holds the ports and name.
import os, select, socket, sys

d = sys.argv[1]
counts = {"tcp": 0, "udp": 0, "dns": 0, "abstract": 0}


def bump(k):
    counts[k] += 1
    tmp = os.path.join(d, ".count-" + k)
    with open(tmp, "w") as f:
        f.write(str(counts[k]))
    os.rename(tmp, os.path.join(d, "count-" + k))


tcp = socket.socket()
tcp.bind(("127.0.0.1", 0))
tcp.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("127.0.0.1", 0))
name = "ohr-escape-%d" % os.getpid()
ab = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ab.bind("\0" + name)
ab.listen(16)
for k in counts:
    with open(os.path.join(d, "count-" + k), "w") as f:
        f.write("0")
with open(os.path.join(d, ".ready"), "w") as f:
    f.write("TCP_PORT=%d\nUDP_PORT=%d\nDNS_PORT=%d\nABSTRACT=%s\n"
            % (tcp.getsockname()[1], udp.getsockname()[1], dns.getsockname()[1], name))
os.rename(os.path.join(d, ".ready"), os.path.join(d, "ready"))


def answer(q):
    # header: same id, response + RD + RA, 1 question, 1 answer
    end = 12
    while end < len(q) and q[end] != 0:
        end += q[end] + 1
    question = q[12:end + 5]
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 53])
    return q[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + question + rr


while True:
    r, _, _ = select.select([tcp, udp, dns, ab], [], [], 900)
    if not r:
        break
    for s in r:
        if s is tcp or s is ab:
            c, _ = s.accept()
            bump("tcp" if s is tcp else "abstract")
            c.close()
        elif s is udp:
            data, peer = udp.recvfrom(2048)
            bump("udp")
            udp.sendto(data, peer)
        else:
            data, peer = dns.recvfrom(2048)
            bump("dns")
            if len(data) > 12:
                dns.sendto(answer(data), peer)
