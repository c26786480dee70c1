#!/usr/bin/env python3
"""Opens N keep-alive connections to 127.0.0.1:PORT, makes one request on each, keeps them idle,
and prints the server's RSS growth per connection. Loopback only; bounded in count and time."""
import resource, socket, struct, sys, time

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")

def main():
    port, pids, count = int(sys.argv[1]), [int(p) for p in sys.argv[2].split(",")], int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    before = sum(rss_kib(p) for p in pids)
    sockets = []
    deadline = time.time() + 120
    for _ in range(count):
        if time.time() > deadline:
            break
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("server closed a keep-alive connection")
            data += chunk
        sockets.append(s)
    time.sleep(1.0)
    after = sum(rss_kib(p) for p in pids)
    opened = len(sockets)
    print(f"idle_connections={opened} rss_before_kib={before} rss_after_kib={after} "
          f"bytes_per_connection={(after - before) * 1024 / max(opened, 1):.0f}")
    for s in sockets:
        # Reset instead of FIN: 10,000 sockets in TIME_WAIT would eat the ephemeral ports of the next run.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()

if __name__ == "__main__":
    main()
