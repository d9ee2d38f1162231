# tfdev: reload exactly what a sync changed, in this kernel.
#
# Installed once per kernel (by the startup file tfdev puts in the kernels'
# profile, or by tfdev's first message to a kernel that started without
# it), in a namespace of its own: nothing is added to the user's.
#
# After each sync of module files, tfdev writes SIGNAL (one small file:
# each changed file with the stamp of its last change) before it says
# "synced", then sends this kernel a silent cell (ARGS {"do": "reload",
# "files": the same list}).
# Whichever comes first, the user's next cell (a pre_run_cell hook that
# costs one stat when nothing changed) or tfdev's message, reloads the
# modules this kernel imported from those files, with autoreload's
# complete semantics (functions and classes patched in place, so existing
# instances see new methods). tfdev's message gets the outcome: what was
# reloaded, and what could not be, with why and what to do.
#
# ARGS {"do": "imports", "packages": [...]}: the modules this kernel
# imported from those packages (a live install changed their version).
import dataclasses
import enum
import importlib
import importlib.metadata
import json
import os
import sys

SIGNAL = "/tmp/.tfdev/changed.json"
EXTENSIONS = (".so", ".pyd")


def autoreload_of(ip):
    """IPython's autoreload reloader of this kernel, when the extension is
    loaded: its old objects, and the modules the user keeps (%aimport -m)."""
    try:
        magics = ip.magics_manager.registry.get("AutoreloadMagics")
        return getattr(magics, "_reloader", None)
    except Exception:
        return None


def shape(module):
    """What a reload cannot change under live objects: the fields of the
    module's dataclasses and the members of its Enums."""
    out = {}
    for name, v in list(vars(module).items()):
        if not isinstance(v, type) or getattr(v, "__module__", None) != module.__name__:
            continue
        if dataclasses.is_dataclass(v):
            params = getattr(v, "__dataclass_params__", None)
            kind = "frozen dataclass" if params is not None and params.frozen else "dataclass"
            out[name] = (kind, tuple(f.name for f in dataclasses.fields(v)))
        elif issubclass(v, enum.Enum):
            out[name] = ("Enum", tuple((m.name, repr(m.value)) for m in v))
    return out


def changed_shape(before, after):
    problems = []
    for name, (kind, was) in sorted(before.items()):
        now = after.get(name)
        if now is None or now == (kind, was):
            continue
        what = "fields" if "dataclass" in kind else "members"
        old = ", ".join(w if isinstance(w, str) else w[0] for w in was)
        new = ", ".join(w if isinstance(w, str) else w[0] for w in now[1])
        if old == new:
            new += " (values changed)"
        problems.append("%s %s's %s changed (%s -> %s); its existing objects keep the old ones" % (kind, name, what, old or "none", new or "none"))
    return problems


class Reloader:
    def __init__(self, ip):
        self.ip = ip
        self.stamp = None  # SIGNAL's stat when last read
        self.applied = 0  # the newest change applied
        self.unreported = {"reloaded": [], "failed": []}
        self.old_objects = {}

    def take(self, files):
        """The files of {path: stamp of its last change} changed since
        this kernel last reloaded."""
        newer = [p for p, gen in files.items() if gen > self.applied]
        self.applied = max([self.applied] + list(files.values()))
        return newer

    def pending(self):
        """The files SIGNAL says changed since the last reload: one stat
        when nothing changed."""
        try:
            st = os.stat(SIGNAL)
        except OSError:
            return []
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self.stamp:
            return []
        self.stamp = stamp
        try:
            with open(SIGNAL) as f:
                sig = json.load(f)
        except (OSError, ValueError):
            self.stamp = None  # half-written: read it again next time
            return []
        return self.take(sig.get("files", {}))

    def before_cell(self, *args):
        files = self.pending()
        if files:
            for f in self.reload(files):
                print("tfdev: %s was not reloaded: %s; %s" % (f["module"], f["why"], f["fix"]), file=sys.stderr)

    def reload(self, files):
        from IPython.extensions.autoreload import superreload

        ar = autoreload_of(self.ip)
        old_objects = ar.old_objects if ar is not None else self.old_objects
        wanted = set(files) | {os.path.realpath(f) for f in files}
        hits = sorted((name, m, m.__file__) for name, m in list(sys.modules.items())
                      if isinstance(getattr(m, "__file__", None), str) and m.__file__ in wanted)
        failed = []

        def fail(name, why, fix):
            failed.append({"module": name, "why": why, "fix": fix})

        for name, m, f in hits:
            if f.endswith(EXTENSIONS):
                fail(name, "a compiled extension cannot be reloaded in a running kernel", "restart this kernel")
                continue
            if ar is not None and name in ar.skip_modules:
                fail(name, "kept as it was: you excluded it from reloading (%aimport -" + name + ")",
                     "restart this kernel, or run %aimport " + name + " and save again")
                continue
            if not os.path.exists(f):
                fail(name, "its file was removed", "restart this kernel")
                continue
            before = shape(m)
            try:
                # No shell: given one, superreload also does what
                # %autoreload 3 does and assigns every new module global
                # into the user's namespace, over the notebook's own names.
                superreload(m, importlib.reload, old_objects, None)
            except SyntaxError as e:
                fail(name, "SyntaxError: %s (%s, line %s)" % (e.msg, os.path.basename(e.filename or f), e.lineno),
                     "fix it and save again; the kernel keeps the last version that loaded")
                continue
            except BaseException as e:
                fail(name, "%s at import: %s" % (type(e).__name__, e),
                     "fix it and save again; the kernel keeps the last version that loaded")
                continue
            finally:
                if ar is not None:
                    try:  # the user's own %autoreload, if on, does not reload it again
                        ar.modules_mtimes[name] = os.stat(f).st_mtime
                    except OSError:
                        pass
            problems = changed_shape(before, shape(m))
            if problems:
                fail(name, "; ".join(problems), "restart this kernel (or make those objects again)")
            else:
                self.unreported["reloaded"].append(name)
        self.unreported["failed"].extend(failed)
        return failed

    def report(self, files):
        """Reload what is pending (SIGNAL, and files: tfdev's own list, for
        a container where SIGNAL could not be written), and hand over every
        outcome not yet told."""
        files = sorted(set(self.pending()) | set(self.take(files)))
        if files:
            self.reload(files)
        out, self.unreported = self.unreported, {"reloaded": [], "failed": []}
        out["reloaded"] = sorted(set(out["reloaded"]))
        return out


def installed(ip):
    r = getattr(ip, "_tfdev_reloader", None)
    if r is None:
        r = Reloader(ip)
        ip._tfdev_reloader = r
        ip.events.register("pre_run_cell", r.before_cell)
    return r


def imports(packages):
    """The modules this kernel imported from packages."""
    files = set()
    for p in packages:
        try:
            dist = importlib.metadata.distribution(p)
        except Exception:
            continue
        for f in dist.files or ():
            if f.suffix in (".py",) + EXTENSIONS:
                files.add(os.path.realpath(str(dist.locate_file(f))))
    mods = [name for name, m in list(sys.modules.items())
            if isinstance(getattr(m, "__file__", None), str) and os.path.realpath(m.__file__) in files]
    return {"imported": sorted(mods)}


_ip = get_ipython()  # noqa: F821 (IPython's builtin)
if ARGS["do"] == "install":  # noqa: F821 (set by tfdev)
    installed(_ip)
elif ARGS["do"] == "reload":  # noqa: F821
    print(json.dumps(installed(_ip).report(ARGS["files"])))  # noqa: F821
else:
    print(json.dumps(imports(ARGS["packages"])))  # noqa: F821
