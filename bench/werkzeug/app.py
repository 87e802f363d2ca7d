"""The WSGI twin of benchapp for Werkzeug's debugger.

Same routes as bench/shape.go: /ok answers five bytes; /panic?depth=N fails
N app frames down (the handler, N-2 frames of descend, explode) in explode,
whose locals are the same as the Go app's: user (with a manager), items
(32 squares), total, label. Served threaded on loopback by run_simple under
DebuggedApplication(evalex=True); the PIN comes from WERKZEUG_DEBUG_PIN.

    python3 app.py PORT
"""
import sys

from werkzeug.debug import DebuggedApplication
from werkzeug.serving import run_simple


class User:
    def __init__(self, id, name, email, manager=None):
        self.id = id
        self.name = name
        self.email = email
        self.manager = manager

    def greeting(self):
        return "Hello, " + self.name + "!"


_ADA = User(1, "Ada Lovelace", "ada@example.com")
PEOPLE = {1: _ADA, 2: User(2, "Grace Hopper", "grace@example.com", _ADA)}


def explode(user, items, total):
    label = "order-%d" % total
    missing = None
    missing[label] = len(items)


def descend(n, total):
    if n <= 1:
        user = PEOPLE[2]
        items = [i * i for i in range(32)]
        explode(user, items, total)
        return
    descend(n - 1, total)


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/ok":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"hello"]
    if path == "/panic":
        depth = 10
        for part in environ.get("QUERY_STRING", "").split("&"):
            if part.startswith("depth="):
                depth = int(part[6:])
        descend(max(depth, 2) - 1, 7)
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    port = int(sys.argv[1])
    run_simple("127.0.0.1", port, DebuggedApplication(app, evalex=True),
               threaded=True, use_reloader=False, use_debugger=False)
