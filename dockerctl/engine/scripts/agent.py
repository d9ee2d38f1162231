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
#   v 0    "tar python"
#
# Each frame is answered by its output lines, then "ok <status>".
import hashlib
import os
import stat
import sys
import tarfile

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


def parents(p):
    d = os.path.dirname(p)
    if d and not os.path.isdir(d):
        os.makedirs(d, 0o755, exist_ok=True)


def clear(p):
    """Removes what stands at p, unless it is a folder."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(p + ": Cannot open: Is a directory")
    os.unlink(p)


def regular(tf, m, p):
    parents(p)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    try:
        fd = os.open(p, flags, 0o600)
    except OSError:
        clear(p)  # a link or something else in the way
        fd = os.open(p, flags, 0o600)
    try:
        src = tf.extractfile(m)
        while True:
            b = src.read(1 << 20)
            if not b:
                break
            os.write(fd, b)
        os.fchown(fd, m.uid, m.gid)
        os.fchmod(fd, m.mode & 0o7777)
    finally:
        os.close(fd)
    os.utime(p, (m.mtime, m.mtime), follow_symlinks=False)


def extract(frame):
    errors = []
    with tarfile.open(fileobj=frame, mode="r|") as tf:
        for m in tf:
            name = m.name.lstrip("/")
            if not name or ".." in name.split("/"):
                errors.append("refusing " + m.name)
                continue
            p = "/" + name
            try:
                if m.isdir():
                    if os.path.islink(p) or (os.path.lexists(p) and not os.path.isdir(p)):
                        os.unlink(p)
                    os.makedirs(p, 0o755, exist_ok=True)
                    os.lchown(p, m.uid, m.gid)
                    os.chmod(p, m.mode & 0o7777)
                    os.utime(p, (m.mtime, m.mtime), follow_symlinks=False)
                elif m.isreg():
                    regular(tf, m, p)
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
                errors.append("%s: %s" % (p, e.strerror or e))
    frame.drain()
    return errors


def paths(frame):
    return [p.decode("utf-8", "surrogateescape") for p in frame.read().split(b"\0") if p]


def remove(frame):
    for p in paths(frame):
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                os.rmdir(p)
            else:
                os.unlink(p)
        except OSError:
            pass  # gone already, or a folder with the container's files in it
    return []


def sha256(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def state(frame):
    dirs, sums, modes = [], [], []
    for p in paths(frame):
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            dirs.append("dir  " + p)
        elif os.path.isfile(p):  # sha256sum follows a link
            try:
                s = sha256(p)
                if "\\" in p or "\n" in p:
                    sums.append("\\" + s + "  " + p.replace("\\", "\\\\").replace("\n", "\\n"))
                else:
                    sums.append(s + "  " + p)
            except OSError:
                pass
        modes.append("mode %o %s" % (stat.S_IMODE(st.st_mode), p))
    return dirs + sums + modes


def main():
    while True:
        line = IN.readline()
        if not line:
            return
        op, _, n = line.decode().strip().partition(" ")
        frame = Frame(int(n or 0))
        status = 0
        if op == "x":
            out = extract(frame)
            status = 2 if out else 0
        elif op == "r":
            out = remove(frame)
        elif op == "h":
            out = state(frame)
        elif op == "v":
            frame.drain()
            out = ["tar python"]
        else:
            return
        for l in out:
            OUT.write(l.encode("utf-8", "surrogateescape") + b"\n")
        OUT.write(b"ok %d\n" % status)
        OUT.flush()


main()
