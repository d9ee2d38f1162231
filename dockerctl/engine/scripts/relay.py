# tfdev's relay: one connection to the container's Jupyter on its own
# loopback, carried over this exec's stdin and stdout, so that a browser
# reaches Jupyter through the Engine's connection even where nothing is
# published (a remote engine).
import os
import socket
import sys
import threading

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def up():
    while True:
        b = os.read(0, 65536)
        if not b:
            s.shutdown(socket.SHUT_WR)
            return
        s.sendall(b)


threading.Thread(target=up, daemon=True).start()
QUICKACK = getattr(socket, "TCP_QUICKACK", None)
while True:
    b = s.recv(65536)
    if not b:
        break
    if QUICKACK is not None:  # no delayed ACK: Jupyter's next small write is not held back
        s.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
    while b:
        n = os.write(1, b)
        b = b[n:]
