# tfdev: carry a kernel's variables into a kernel of a new container.
#
# tfdev runs this through the kernel's shell channel, silently and in a
# namespace of its own (nothing is added to the user's), with ARGS set:
#   {"do": "dump", "cap": bytes}  in the old kernel: the user's globals go
#       to a fresh folder, one pickle per name, and a JSON report is printed;
#   {"do": "load", "dir": path}   in the new kernel: the names come back,
#       modules first (imported again by name, never pickled).
# Names that cannot be carried are listed with the reason, never dropped
# silently. dill, else cloudpickle, else pickle: with plain pickle what the
# notebook itself defines (functions, classes and their instances) cannot
# be carried, since pickle stores those by name.
import importlib
import io
import json
import os
import pickle
import shutil
import socket
import sys
import tempfile
import time
import types

HIDE = {"In", "Out", "exit", "quit", "get_ipython"}
BY_VALUE = "__main__"  # the notebook's own module


def picklers():
    for name in ("dill", "cloudpickle"):
        try:
            return name, importlib.import_module(name)
        except Exception:
            pass
    return "pickle", pickle


def new_pickler(kind, mod, f, byref=False, **kw):
    if kind == "dill":
        return mod.Pickler(f, protocol=5, byref=byref, **kw)
    if kind == "cloudpickle":
        return mod.CloudPickler(f, protocol=5, **kw)
    return pickle.Pickler(f, protocol=5, **kw)


class Count:
    """A file that keeps only the count of what is written."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        self.n += len(b)
        return len(b)


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


def user_names(ip):
    hidden = getattr(ip, "user_ns_hidden", {})
    for name, v in list(ip.user_ns.items()):
        if name.startswith("_") or name in HIDE:
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


def dump(cap):
    began = time.monotonic()
    ip = get_ipython()  # noqa: F821 (IPython's builtin)
    kind, mod = picklers()
    folder = tempfile.mkdtemp(prefix="tfdev-carry-")
    modules, left, records, total = {}, {}, [], 0
    candidates = []
    for name, v in user_names(ip):
        if isinstance(v, types.ModuleType):
            modules[name] = v.__name__
            continue
        w = why_not(kind, v)
        if w:
            left[name] = w
            continue
        candidates.append((name, v))
    candidates.sort(key=order)
    path = os.path.join(folder, "names.pickle")
    with open(path, "wb") as f:
        for name, v in candidates:
            # Count first, the big buffers (numpy's) out of band: cheap,
            # and a name that fails leaves nothing half-written.
            count, oob = Count(), [0]

            def buffer(b, oob=oob):
                oob[0] += b.raw().nbytes
                return False

            try:
                new_pickler(kind, mod, count, byref=(kind == "dill" and not isinstance(v, type)), buffer_callback=buffer).dump(v)
            except Exception as e:
                left[name] = reason(e)
                continue
            size = count.n + oob[0]
            if total + size > cap:
                left[name] = "over the size cap (%d bytes; %d of the cap of %d already taken)" % (size, total, cap)
                continue
            start = f.tell()
            try:
                new_pickler(kind, mod, f, byref=(kind == "dill" and not isinstance(v, type))).dump(v)
            except Exception as e:
                f.seek(start)
                f.truncate()
                left[name] = reason(e)
                continue
            records.append([name, start, f.tell() - start])
            total += f.tell() - start
    with open(os.path.join(folder, "index.json"), "w") as f:
        json.dump({"pickler": kind, "modules": modules, "records": records}, f)
    print(json.dumps({"dir": folder, "pickler": kind, "names": [r[0] for r in records] + sorted(modules),
                      "bytes": total, "left": left, "seconds": time.monotonic() - began}))


def load(folder):
    began = time.monotonic()
    ip = get_ipython()  # noqa: F821
    ns = ip.user_ns
    with open(os.path.join(folder, "index.json")) as f:
        index = json.load(f)
    kind = index["pickler"]
    loads = pickle.load
    if kind == "dill":
        loads = importlib.import_module("dill").load
    done, left = [], {}
    for name, modname in index["modules"].items():
        try:
            ns[name] = importlib.import_module(modname)
            done.append(name)
        except Exception as e:
            left[name] = "importing %s again: %s" % (modname, reason(e))
    with open(os.path.join(folder, "names.pickle"), "rb") as f:
        for name, start, size in index["records"]:
            f.seek(start)
            try:
                ns[name] = loads(f)
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
    dump(ARGS["cap"])  # noqa: F821
else:
    load(ARGS["dir"])  # noqa: F821
