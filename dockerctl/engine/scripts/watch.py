# tfdev's watcher inside the container: reports the files written under
# the folders given as arguments, with their SHA-256, so that what the user
# makes in the container (a notebook saved from Jupyter) comes home.
# inotify through ctypes: no package to install, and no cost while idle.
# Out: "ready"; then batches of "c <sha256>  <path>" lines, each ended by
# "e" (after a quiet moment) or "f" (answering a line on stdin: a flush).
import ctypes, ctypes.util, hashlib, os, select, struct, sys, time

roots = sys.argv[1:]
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
CLOSE_WRITE, MOVED_TO, CREATE, ISDIR, OVERFLOW = 0x8, 0x80, 0x100, 0x40000000, 0x4000
fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
if fd < 0:
    sys.exit(3)
wds, pending = {}, set()
SKIP = (".ipynb_checkpoints", "__pycache__", ".git")
QUIET, CEILING = 0.25, 1.0
first = 0.0


def watch(d, since):
    # The watch goes on before the folder is listed: a file made meanwhile
    # is in the listing or comes as an event, never neither. Listed files
    # modified at or after since are reported (None: none are).
    stack = [d]
    while stack:
        root = stack.pop()
        wd = libc.inotify_add_watch(fd, os.fsencode(root), CLOSE_WRITE | MOVED_TO | CREATE)
        if wd >= 0:
            wds[wd] = root
        try:
            entries = list(os.scandir(root))
        except OSError:
            continue
        for e in entries:
            if e.name in SKIP or e.name.startswith(".~"):
                continue
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif since is not None and e.is_file(follow_symlinks=False):
                try:
                    if e.stat(follow_symlinks=False).st_mtime >= since:
                        pending.add(e.path)
                except OSError:
                    pass


def drain():
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        i = 0
        while i < len(data):
            wd, mask, _, n = struct.unpack_from("iIII", data, i)
            name = os.fsdecode(data[i + 16:i + 16 + n].rstrip(b"\0"))
            i += 16 + n
            if mask & OVERFLOW:
                for r in roots:
                    if os.path.isdir(r):
                        watch(r, 0)
                continue
            d = wds.get(wd)
            if d is None or not name or name.startswith(".~") or name in SKIP:
                continue
            p = os.path.join(d, name)
            if mask & ISDIR:
                if mask & (CREATE | MOVED_TO):
                    watch(p, 0)
            elif mask & (CLOSE_WRITE | MOVED_TO):
                pending.add(p)


def emit(end):
    out = []
    for p in sorted(pending):
        if "\n" in p:
            continue
        try:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            out.append("c %s  %s\n" % (h.hexdigest(), p))
        except OSError:
            pass  # gone again, or not a file
    pending.clear()
    sys.stdout.write("".join(out) + end + "\n")
    sys.stdout.flush()


# What was written between the container's start (tfdev's marker) and now
# is reported first.
try:
    started = os.stat("/tmp/.tfdev-started").st_mtime
except OSError:
    started = None
for r in roots:
    if os.path.isdir(r):
        watch(r, started)
if pending:
    first = time.monotonic()
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    timeout = None
    if pending:
        timeout = max(0.0, min(QUIET, first + CEILING - time.monotonic()))
    r, _, _ = select.select([fd, 0], [], [], timeout)
    if fd in r:
        had = bool(pending)
        drain()
        if pending and not had:
            first = time.monotonic()
    if 0 in r:
        if not os.read(0, 4096):
            break
        drain()
        emit("f")
        continue
    if pending and (not r or time.monotonic() - first >= CEILING):
        emit("e")
