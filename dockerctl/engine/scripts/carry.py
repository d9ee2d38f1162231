# tfdev: carry a kernel's variables into a kernel of a new container.
#
# tfdev runs this through the kernel's shell channel, silently and in a
# namespace of its own (nothing is added to the user's), with ARGS set:
#   {"do": "dump", "cap": bytes, "root": dir}  in the old kernel: the
#       user's globals go to a fresh folder (in root, a volume both
#       containers share, when given), one pickle per name, and a JSON
#       report is printed;
#   {"do": "load", "dir": path}   in the new kernel: the names come back,
#       modules first (imported again by name, never pickled).
# Names that cannot be carried are listed with the reason, never dropped
# silently. pickle stores each name it can (it is the fast one); what the
# notebook itself defines (functions, classes, lambdas) goes by dill, else
# cloudpickle; with neither in the image those are listed as not carried,
# since pickle stores them by name.
import importlib
import io
import json
import os
import pickle
import re
import shutil
import socket
import sys
import tempfile
import time
import types

HIDE = {"In", "Out", "exit", "quit", "get_ipython"}
BY_VALUE = "__main__"  # the notebook's own module


def slow_pickler():
    """The pickler for what pickle stores by name but the notebook
    defines (functions, classes, lambdas): dill, else cloudpickle, else
    none."""
    for name in ("dill", "cloudpickle"):
        try:
            return name, importlib.import_module(name)
        except Exception:
            pass
    return "pickle", None


def new_pickler(kind, mod, f, byref=True, **kw):
    """pickle's C pickler is the fast one: dill and cloudpickle are written
    in Python and copy every buffer. dill pickles by value what the
    notebook defines and, with byref, refers to its classes by name, so
    their instances find the class carried beside them."""
    if kind == "dill":
        return mod.Pickler(f, protocol=5, byref=byref, **kw)
    if kind == "cloudpickle":
        return mod.CloudPickler(f, protocol=5, **kw)
    return pickle.Pickler(f, protocol=5, **kw)


def defined_here(v):
    return isinstance(v, (type, types.FunctionType)) and getattr(v, "__module__", None) == BY_VALUE


class Count:
    """A file that keeps only the count of what is written."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        n = memoryview(b).nbytes
        self.n += n
        return n


def on_gpu(v):
    if getattr(v, "is_cuda", False) is True:  # torch
        return True
    dev = getattr(v, "device", None)
    return isinstance(dev, str) and "GPU" in dev and type(v).__module__.startswith("tensorflow")


def why_not(kind, v):
    """Why v cannot be carried before trying, or None."""
    if isinstance(v, io.IOBase) and not v.closed:
        return "an open file: open it again in the new kernel"
    if isinstance(v, socket.socket):
        return "a socket: connect again in the new kernel"
    if isinstance(v, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)):
        return "a generator: where it stands cannot be carried; make it again"
    if on_gpu(v):
        return "on the GPU: move it to the CPU first (x = x.cpu()) to carry it"
    if kind == "pickle":
        defined = getattr(v, "__module__", None) if isinstance(v, (type, types.FunctionType)) else type(v).__module__
        if defined == BY_VALUE:
            what = "defined in the notebook" if isinstance(v, (type, types.FunctionType)) else "an instance of a class defined in the notebook"
            return what + ": pickle cannot carry it (dill in the image can); run its cell again"
    return None


def reason(e):
    s = "%s: %s" % (type(e).__name__, e)
    return s if len(s) <= 200 else s[:197] + "..."


# IPython's own history names (_, __, ___, _i, _ii, _iii, _i7, _7), which
# each kernel keeps for its own cells; the user's other names, _private
# ones too, are carried.
HISTORY = re.compile(r"_{1,3}|_i{1,3}|_i?[0-9]+|__.*__")


def user_names(ip):
    hidden = getattr(ip, "user_ns_hidden", {})
    for name, v in list(ip.user_ns.items()):
        if name in HIDE or HISTORY.fullmatch(name):
            continue
        if name in hidden and hidden[name] is v:
            continue
        yield name, v


def order(name_v):
    """Classes first, then functions, then the rest: instances of the
    notebook's classes refer to them by name."""
    _, v = name_v
    if isinstance(v, type):
        return 0
    if isinstance(v, types.FunctionType):
        return 1
    return 2


def size_of(kind, mod, v, byref):
    """The bytes v pickles to, counted without writing them: the big
    buffers (numpy's) are only measured."""
    count, oob = Count(), [0]

    def buffer(b):
        oob[0] += b.raw().nbytes
        return False

    new_pickler(kind, mod, count, byref, buffer_callback=buffer).dump(v)
    return count.n + oob[0]


def dump(cap, root=None):
    began = time.monotonic()
    ip = get_ipython()  # noqa: F821 (IPython's builtin)
    slow, mod = slow_pickler()
    folder = None
    if root:
        try:
            folder = tempfile.mkdtemp(prefix="tfdev-carry-", dir=root)
        except OSError:
            pass  # not writable here: a folder of /tmp, copied by tfdev
    if folder is None:
        folder = tempfile.mkdtemp(prefix="tfdev-carry-")
    modules, left, records, total, used = {}, {}, [], 0, set()
    candidates = []
    for name, v in user_names(ip):
        if isinstance(v, types.ModuleType):
            modules[name] = v.__name__
            continue
        w = why_not(slow, v)
        if w:
            left[name] = w
            continue
        candidates.append((name, v))
    candidates.sort(key=order)
    path = os.path.join(folder, "names.pickle")
    with open(path, "wb") as f:
        for name, v in candidates:
            # pickle first (fast), unless v is the notebook's own
            # definition; what pickle cannot store goes by dill.
            kinds = [slow] if defined_here(v) else ["pickle", slow]
            byref = not isinstance(v, type)  # a class itself goes by value
            size, kind, err = None, None, None
            for kind in dict.fromkeys(kinds):
                try:
                    size = size_of(kind, mod, v, byref)
                    break
                except Exception as e:
                    err = e
            if size is None:
                left[name] = reason(err)
                continue
            if total + size > cap:
                left[name] = "over the size cap (%d bytes; %d of the cap of %d already taken)" % (size, total, cap)
                continue
            start = f.tell()
            try:
                new_pickler(kind, mod, f, byref).dump(v)
            except Exception as e:
                f.seek(start)
                f.truncate()
                left[name] = reason(e)
                continue
            records.append([name, kind, start, f.tell() - start])
            total += f.tell() - start
            used.add(kind)
    with open(os.path.join(folder, "index.json"), "w") as f:
        json.dump({"modules": modules, "records": records, "path": list(sys.path)}, f)
    print(json.dumps({"dir": folder, "pickler": "+".join(sorted(used)) or "pickle",
                      "names": [r[0] for r in records] + sorted(modules), "bytes": total, "left": left,
                      "seconds": time.monotonic() - began}))


def load(folder):
    began = time.monotonic()
    ip = get_ipython()  # noqa: F821
    ns = ip.user_ns
    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)
    # Where the notebook found its modules (a sys.path.insert in a cell):
    # the same folders, in the same order, before anything is imported.
    for i, p in enumerate(index.get("path", [])):
        if p not in sys.path:
            sys.path.insert(min(i, len(sys.path)), p)
    loaders = {"pickle": pickle.load, "cloudpickle": pickle.load}
    done, left = [], {}
    for name, modname in index["modules"].items():
        try:
            ns[name] = importlib.import_module(modname)
            done.append(name)
        except Exception as e:
            left[name] = "importing %s again: %s" % (modname, reason(e))
    with open(os.path.join(folder, "names.pickle"), "rb") as f:
        for name, kind, start, size in index["records"]:
            f.seek(start)
            try:
                if kind not in loaders:
                    loaders[kind] = importlib.import_module(kind).load
                ns[name] = loaders[kind](f)
                done.append(name)
            except Exception as e:
                left[name] = "restoring it: " + reason(e)
    relink(ns, done)
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"names": done, "left": left, "seconds": time.monotonic() - began}))


def relink(ns, names):
    """An instance whose class came by value beside it points at the
    notebook's class of that name again, so isinstance still holds."""
    for name in names:
        v = ns.get(name)
        t = type(v)
        if t.__module__ != BY_VALUE or isinstance(v, type):
            continue
        mine = ns.get(t.__qualname__)
        if isinstance(mine, type) and mine is not t and mine.__qualname__ == t.__qualname__:
            try:
                v.__class__ = mine
            except TypeError:
                pass


if ARGS["do"] == "dump":  # noqa: F821 (set by tfdev)
    dump(ARGS["cap"], ARGS.get("root"))  # noqa: F821
else:
    load(ARGS["dir"])  # noqa: F821
