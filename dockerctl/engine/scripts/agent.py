# tfdev's sync agent, where the image has python3: the same frames as the
# shell agent (agent.go), served in one process, so that a sync spawns no
# process in the container (each spawn costs milliseconds on fuse-overlayfs).
#
#   x <n>  n bytes of tar, extracted at / (permissions, owners and times
#          kept; an existing file is truncated in place, a link where a file
#          goes is replaced, never followed; a folder where a file goes is an
#          error)
#   r <n>  NUL-separated paths: files and links removed, folders only when
#          empty
#   h <n>  NUL-separated paths: "dir  P", "<sha256>  P" (sha256sum's form),
#          "mode <octal> P" (lstat), nothing for a missing path
#   s <n>  n bytes of NUL-separated paths removed as r removes them, then a
#          tar of any size streamed in chunks "<n>\n" and n bytes, up to a
#          chunk of 0, extracted as x extracts: a branch switch in one round
#   g <n>  a guarded s: n bytes of NUL-separated pairs, a path to remove
#          and the contents (SHA-256s, space-separated) it may hold to be
#          removed; then the streamed tar, whose regular files carry PAX
#          records TFDEV.allow (the contents the file may hold to be
#          overwritten) and TFDEV.sum (the new content's, or "-"). A path
#          holding anything else was changed in the container: it is left
#          as it is and answered "conflict P"; a file that already holds
#          the new content and permissions is answered "same P". The check
#          and the write of a file are one step, so a branch switch costs
#          one round and one lookup per file.
#   v 0    "tar python stream guard"
#
# Each frame is answered by its output lines, then "ok <status>".
#
# On fuse-overlayfs every file operation in the container costs about a
# tenth of a millisecond, so a file costs only the operations it needs
# (an owner or permissions already right are left alone), and files are
# written by a few threads at once: the filesystem serves them side by
# side, and a branch switch's thousands of files land in a fraction of the
# time one after another would take.
import hashlib
import os
import stat
import sys
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor

IN = sys.stdin.buffer
OUT = sys.stdout.buffer


class Frame:
    """The n bytes of one frame, read as a file."""

    def __init__(self, n):
        self.left = n

    def read(self, k=-1):
        if self.left <= 0:
            return b""
        if k is None or k < 0 or k > self.left:
            k = self.left
        b = IN.read(k)
        if not b:
            raise EOFError("the frame ended early")
        self.left -= len(b)
        return b

    def drain(self):
        while self.left > 0:
            self.read(1 << 16)


WORKERS = 4
INLINE = 1 << 20  # bigger files are written by the reading thread
PENDING = 32 << 20  # bytes read ahead of the writers, at most
POOL = ThreadPoolExecutor(WORKERS)
known_dirs = set()  # folders seen to exist in this frame
# What the agent last wrote, by path: (size, mtime, ctime, inode) and the
# content's SHA-256. A file whose stat is still that holds that content
# (any write since moves its ctime), so the guard need not read it again.
written = {}


def stamp(st):
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class Chunks:
    """A streamed frame: chunks of "<n>\n" and n bytes, until "0\n"."""

    def __init__(self):
        self.left = 0
        self.done = False

    def read(self, k=-1):
        out = []
        while not self.done and (k is None or k < 0 or k > 0):
            if self.left == 0:
                n = int(IN.readline().strip() or b"0")
                if n == 0:
                    self.done = True
                    break
                self.left = n
            want = self.left if k is None or k < 0 else min(k, self.left)
            b = IN.read(want)
            if not b:
                raise EOFError("the stream ended early")
            self.left -= len(b)
            out.append(b)
            if k is not None and k >= 0:
                k -= len(b)
        return b"".join(out)

    def drain(self):
        while not self.done:
            self.read(1 << 16)


def parents(p):
    d = os.path.dirname(p)
    if d and d not in known_dirs:
        if not os.path.isdir(d):
            os.makedirs(d, 0o755, exist_ok=True)
        known_dirs.add(d)


def clear(p):
    """Removes what stands at p, unless it is a folder."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(p + ": Cannot open: Is a directory")
    os.unlink(p)


def opened(p, mode):
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    try:
        return os.open(p, flags, mode)
    except OSError:
        clear(p)  # a link or something else in the way
        return os.open(p, flags, mode)


def finish(fd, m, mode, p, sum_):
    """Owner, permissions and time as the tar says, each set only when it
    is not already so (fstat is served from the kernel's cache)."""
    st = os.fstat(fd)
    if st.st_uid != m.uid or st.st_gid != m.gid:
        os.fchown(fd, m.uid, m.gid)
    if stat.S_IMODE(st.st_mode) != mode:
        os.fchmod(fd, mode)
    ns = int(m.mtime * 1e9)
    os.utime(fd, ns=(ns, ns))
    written[p] = (stamp(os.fstat(fd)), sum_)


def current(p):
    """The content at p as the guard sees it: None when nothing (or a
    dangling link) stands there, "dir" for a folder, else its SHA-256;
    and its permissions."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return None, None
    if stat.S_ISDIR(st.st_mode):
        return "dir", None
    known = written.get(p)
    if known is not None and stat.S_ISREG(st.st_mode) and known[0] == stamp(st):
        return known[1], stat.S_IMODE(st.st_mode)
    if not os.path.isfile(p):
        return None, None
    return sha256(p), stat.S_IMODE(st.st_mode)


def esc(p):
    """A path on one line: backslashes and newlines escaped."""
    return p.replace("\\", "\\\\").replace("\n", "\\n")


def verdict(m, p):
    """For a guarded file: None to write it, else "same" or "conflict"."""
    allow = m.pax_headers.get("TFDEV.allow")
    if allow is None:
        return None
    cur, mode = current(p)
    new = m.pax_headers.get("TFDEV.sum", "-")
    if cur is None:
        return None
    if cur == new:
        return "same" if mode == m.mode & 0o7777 else None
    if cur in allow.split():
        return None
    return "conflict"


def write_file(m, p, body):
    """A file whose content is in memory: run by the writers. Returns the
    guard's verdict when the file was left as it is."""
    v = verdict(m, p)
    if v is not None:
        return v
    written.pop(p, None)
    parents(p)
    mode = m.mode & 0o7777
    fd = opened(p, mode)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view):]
        finish(fd, m, mode, p, hashlib.sha256(body).hexdigest())
    finally:
        os.close(fd)


def regular(tf, m, p):
    """A big file, streamed by the reading thread."""
    v = verdict(m, p)
    if v is not None:
        return v
    written.pop(p, None)
    parents(p)
    mode = m.mode & 0o7777
    fd = opened(p, mode)
    try:
        src = tf.extractfile(m)
        h = hashlib.sha256()
        while True:
            b = src.read(1 << 20)
            if not b:
                break
            h.update(b)
            os.write(fd, b)
        finish(fd, m, mode, p, h.hexdigest())
    finally:
        os.close(fd)


class Writers:
    """Files handed to the pool, with the bytes they hold in memory."""

    def __init__(self):
        self.pending = []  # (future, path, size)
        self.held = 0
        self.errors = []
        self.verdicts = []  # "same P", "conflict P"

    def add(self, m, p, body):
        self.pending.append((POOL.submit(write_file, m, p, body), p, len(body)))
        self.held += len(body)
        while self.held > PENDING:
            self.settle(1)

    def settle(self, n=None):
        """Waits for the first n files handed over (all by default)."""
        done = self.pending if n is None else self.pending[:n]
        for f, p, size in done:
            try:
                v = f.result()
                if v is not None:
                    self.verdicts.append(v + " " + esc(p))
            except OSError as e:
                self.errors.append("%s: %s" % (p, e.strerror or e))
            self.held -= size
        self.pending = [] if n is None else self.pending[n:]


def extract(frame):
    w = Writers()
    known_dirs.clear()
    with tarfile.open(fileobj=frame, mode="r|") as tf:
        for m in tf:
            name = m.name.lstrip("/")
            if not name or ".." in name.split("/"):
                w.errors.append("refusing " + m.name)
                continue
            p = "/" + name
            if m.isreg() and m.size <= INLINE:
                w.add(m, p, tf.extractfile(m).read())
                continue
            w.settle()  # what stands at p may be a file still being written
            try:
                if m.isdir():
                    if os.path.islink(p) or (os.path.lexists(p) and not os.path.isdir(p)):
                        os.unlink(p)
                    os.makedirs(p, 0o755, exist_ok=True)
                    known_dirs.add(p)
                    os.lchown(p, m.uid, m.gid)
                    os.chmod(p, m.mode & 0o7777)
                    os.utime(p, (m.mtime, m.mtime), follow_symlinks=False)
                elif m.isreg():
                    v = regular(tf, m, p)
                    if v is not None:
                        w.verdicts.append(v + " " + esc(p))
                elif m.issym():
                    parents(p)
                    clear(p)
                    os.symlink(m.linkname, p)
                    os.lchown(p, m.uid, m.gid)
                elif m.islnk():
                    parents(p)
                    clear(p)
                    os.link("/" + m.linkname.lstrip("/"), p)
            except OSError as e:
                w.errors.append("%s: %s" % (p, e.strerror or e))
    w.settle()
    frame.drain()
    return w.errors, w.verdicts


def paths(frame, keep_empty=False):
    parts = frame.read().split(b"\0")
    if keep_empty:
        parts = parts[:-1] if parts and parts[-1] == b"" else parts
    return [p.decode("utf-8", "surrogateescape") for p in parts if p or keep_empty]


def remove_guarded(frame):
    """Pairs of a path and the contents it may hold to be removed."""
    parts = paths(frame, keep_empty=True)
    out = []
    for p, allow in zip(parts[0::2], parts[1::2]):
        cur, _ = current(p)
        if cur is not None and cur != "dir" and cur not in allow.split():
            out.append("conflict " + esc(p))
            continue
        remove_one(p)
    return out


def remove_one(p):
    written.pop(p, None)
    try:
        if os.path.isdir(p) and not os.path.islink(p):
            os.rmdir(p)
        else:
            os.unlink(p)
    except OSError:
        pass  # gone already, or a folder with the container's files in it


def remove(frame):
    for p in paths(frame):
        remove_one(p)
    return []


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def state_of(p):
    """One path's lines: its kind or content, and its permissions."""
    try:
        st = os.lstat(p)
    except OSError:
        return None
    kind = None
    if stat.S_ISDIR(st.st_mode):
        kind = "dir  " + p
    elif os.path.isfile(p):  # sha256sum follows a link
        try:
            known = written.get(p)
            s = known[1] if known is not None and stat.S_ISREG(st.st_mode) and known[0] == stamp(st) else sha256(p)
            if "\\" in p or "\n" in p:
                kind = "\\" + s + "  " + p.replace("\\", "\\\\").replace("\n", "\\n")
            else:
                kind = s + "  " + p
        except OSError:
            pass
    return kind, "mode %o %s" % (stat.S_IMODE(st.st_mode), p)


def state(frame):
    dirs, sums, modes = [], [], []
    for r in POOL.map(state_of, paths(frame), chunksize=64):  # read side by side
        if r is None:
            continue
        kind, mode = r
        if kind is not None:
            (dirs if kind.startswith("dir  ") else sums).append(kind)
        modes.append(mode)
    return dirs + sums + modes


def main():
    os.umask(0)  # files get exactly the permissions the tar says, at creation
    while True:
        line = IN.readline()
        if not line:
            return
        op, _, n = line.decode().strip().partition(" ")
        frame = Frame(int(n or 0))
        status = 0
        if op == "x":
            out, _ = extract(frame)
            status = 2 if out else 0
        elif op == "s":
            remove(frame)
            out, _ = extract(Chunks())
            status = 2 if out else 0
        elif op == "g":
            kept = remove_guarded(frame)
            errors, verdicts = extract(Chunks())
            out = kept + verdicts + errors
            status = 2 if errors else 0
        elif op == "r":
            out = remove(frame)
        elif op == "h":
            out = state(frame)
        elif op == "v":
            frame.drain()
            out = ["tar python stream guard"]
        else:
            return
        for l in out:
            OUT.write(l.encode("utf-8", "surrogateescape") + b"\n")
        OUT.write(b"ok %d\n" % status)
        OUT.flush()


main()
