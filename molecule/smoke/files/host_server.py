# A throw-away HTTP server on the host for the smoke test: binds ADDRESS on a free port, writes
# "<port> <pid>" to STATEFILE, serves DIRECTORY, and exits by itself after LIFETIME seconds.
import functools
import http.server
import os
import sys
import threading

address, directory, statefile, lifetime = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
server = http.server.ThreadingHTTPServer((address, 0), handler)
with open(statefile + ".tmp", "w") as f:
    f.write(f"{server.server_address[1]} {os.getpid()}\n")
os.rename(statefile + ".tmp", statefile)
threading.Timer(lifetime, server.shutdown).start()
server.serve_forever()
