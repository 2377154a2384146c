"""Client: runs, their metric histories and live metrics, from Python."""

import collections
import copy
import os
import struct
import time

from . import _frames
from ._wire import Connection, IgniteError, NotFound, PermissionDenied, socket_path

ENDED = ("completed", "terminated", "failed")

# One point of a metric series: the run's id, the series' name, where it
# was recorded (epoch, iteration), its wall time (unix seconds) and value.
Point = collections.namedtuple("Point", "run name epoch iteration time value")

# One bucket of a downsampled series: the run, the series' name, the
# iteration of the bucket's last point, the min and max of its values
# (NaN values left out; NaN when all are) and its last value.
Bucket = collections.namedtuple("Bucket", "run name iteration min max last")

SUMMARY_KEYS = ("id", "name", "owner", "status", "epoch", "iteration",
                "max_epochs", "epoch_length", "rate", "reason", "created",
                "started", "finished")


def decode_series(run, name, cols):
    """The Points of one series of a metric batch (PROTOCOL.md): four
    columns of 8-byte big-endian numbers, values bit for bit (NaN too)."""
    n = len(cols["value"]) // 8
    if any(len(cols[k]) != 8 * n for k in ("epoch", "iteration", "time", "value")):
        raise IgniteError(8, "series %r: columns of unequal lengths" % name)
    return [Point(run, name, e, i, t, v) for e, i, t, v in zip(
        struct.unpack(">%dQ" % n, cols["epoch"]),
        struct.unpack(">%dQ" % n, cols["iteration"]),
        struct.unpack(">%dd" % n, cols["time"]),
        struct.unpack(">%dd" % n, cols["value"]))]


def _as_list(runs):
    return list(runs) if isinstance(runs, (list, tuple, set)) else [runs]


def _absolute(value, prefixes):
    """"KIND:PATH" with a relative PATH made absolute, for KIND in prefixes."""
    kind, sep, path = value.partition(":") if isinstance(value, str) else ("", "", "")
    if sep and kind in prefixes and not path.startswith("/"):
        return kind + ":" + os.path.abspath(path)
    return value


class Client:
    """A connection to ignited, found as ignitectl finds it: socket (a
    path), else $IGNITE_SOCKET, else /run/ignite/ignited.sock as root,
    $XDG_RUNTIME_DIR/ignite/ignited.sock or /tmp/ignite-UID/ignited.sock.
    timeout: seconds to wait for an answer.  Errors of the daemon are raised
    as IgniteError (code, name, message)."""

    def __init__(self, socket=None, timeout=120.0):
        self.path, self._how = socket_path(socket)
        self.timeout = timeout
        self._conn = self._connect()
        self.version = self._conn.hello["version"]
        self.daemon = self._conn.hello["daemon"]
        self._params = {}           # run id -> params of its spec

    def _connect(self):
        return Connection(self.path, self._how, self.timeout, "ignite_client")

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, params=None):
        """Any method of PROTOCOL.md: its result, or IgniteError."""
        return self._conn.call(method, params)

    def ping(self):
        self.call("ping")

    # ---- runs -----------------------------------------------------------

    def list_runs(self, status=None):
        """Every run's summary (a dict, PROTOCOL.md "Run summary"), in id
        order, paged through; status: a status or a list of them."""
        params, out = {"from": 1}, []
        if status is not None:
            params["status"] = _as_list(status)
        while params["from"] is not None:
            page = self.call("list", params)
            out.extend(page["runs"])
            params["from"] = page["next"]
        return out

    def _params_of(self, run_id):
        """The params of a run's spec: asked of the daemon once (`spec`),
        none for a run this user may not read (another user's)."""
        if run_id not in self._params:
            try:
                spec = self.call("spec", {"id": run_id})
                self._params[run_id] = dict(spec.get("params") or {})
            except (PermissionDenied, NotFound):
                self._params[run_id] = {}
        return self._params[run_id]

    def runs_rows(self, status=None):
        """list_runs flattened as mlflow.search_runs does: one dict a run
        with the summary's keys, "params.K" for each param of its spec
        (the caller's runs; every run for root) and "metrics.K" for each
        metric's latest value."""
        rows = []
        for s in self.list_runs(status):
            row = {k: s.get(k) for k in SUMMARY_KEYS}
            for k, v in sorted(self._params_of(s["id"]).items()):
                row["params." + k] = v
            for k, v in sorted((s.get("metrics") or {}).items()):
                row["metrics." + k] = v
            rows.append(row)
        return rows

    def runs(self, status=None):
        """runs_rows as a pandas DataFrame, one row a run; created, started
        and finished as UTC datetimes."""
        return _frames.runs(self.runs_rows(status), SUMMARY_KEYS)

    def status(self, run):
        """The run's summary (run: its id or name)."""
        return self.call("status", {"id": run})

    def start(self, spec, **keys):
        """Start a run from a spec dict (PROTOCOL.md "Run spec"; keys
        given here are added to it, e.g. name="exp1"); its id.  As with
        ignitectl run, relative data and plugin paths are taken from the
        current directory, and an exec worker runs in it unless the spec's
        worker.cwd says otherwise."""
        spec = copy.deepcopy(dict(spec, **keys))
        spec["engine"] = _absolute(spec.get("engine"), ("plugin",))
        data = spec.get("data")
        if isinstance(data, dict) and isinstance(data.get("path"), str):
            data["path"] = os.path.abspath(data["path"])
        elif data is not None:
            spec["data"] = _absolute(data, ("csv", "msgpack"))
        engine = spec["engine"]
        if isinstance(engine, list) or (isinstance(engine, str) and engine.startswith("exec:")):
            worker = spec.setdefault("worker", {})
            if isinstance(worker, dict) and isinstance(worker.get("cwd", ""), str):
                worker["cwd"] = os.path.abspath(worker.get("cwd", os.getcwd()))
        run_id = self.call("run", spec)["id"]
        self._params[run_id] = dict(spec.get("params") or {})
        return run_id

    def pause(self, run, wait=True):
        """Pause the run; with wait, return its summary once it is paused
        (the daemon answers while it finishes its iteration)."""
        answer = self.call("pause", {"id": run})
        return self.wait(run, ("paused",) + ENDED) if wait else answer

    def resume(self, run, max_epochs=None):
        params = {"id": run}
        if max_epochs is not None:
            params["max_epochs"] = max_epochs
        return self.call("resume", params)

    def terminate(self, run, wait=True):
        """Terminate the run; with wait, return its summary once it has
        ended (the answer comes while it finishes its iteration)."""
        answer = self.call("terminate", {"id": run})
        return self.wait(run) if wait else answer

    def terminate_epoch(self, run):
        return self.call("terminate_epoch", {"id": run})

    def delete(self, run):
        return self.call("delete", {"id": run})

    def logs(self, run, tail=None):
        """The run's log lines, oldest first: dicts {id, time, message}."""
        params = {"id": run}
        if tail is not None:
            params["tail"] = tail
        return self.call("logs", params)["lines"]

    def state_dict(self, run):
        return self.call("state_dict", {"id": run})

    # ---- metric history -------------------------------------------------

    def _pages(self, conn, runs, names, axis, from_, to, max_points, columns=None):
        """(run id, name, columns) of each series of each page, run by run:
        the daemon reads one run a request, so several runs are several
        requests.  columns: the names of those to ask for (None: all)."""
        for run in _as_list(runs):
            params = {"id": run, "axis": axis}
            for key, v in (("names", names), ("from", from_), ("to", to),
                           ("max_points", max_points), ("columns", columns)):
                if v is not None:
                    params[key] = _as_list(v) if key == "names" else v
            while True:
                res = conn.call("metrics", params)
                for name, cols in res["series"].items():
                    yield res["id"], name, cols
                if res["next"] is None:
                    break
                params["from"] = res["next"]

    def history_points(self, runs, names=None, axis="iteration", from_=None, to=None,
                       max_points=None):
        """Every point of the series asked for, of one run or several (ids
        or names): a list of Point(run, name, epoch, iteration, time,
        value), by run, then series, then iteration.  from_ and to bound
        the axis ("iteration" or "epoch"), both inclusive; max_points
        downsamples each series on the daemon."""
        out = collections.OrderedDict()
        for run, name, cols in self._pages(self._conn, runs, names, axis, from_, to,
                                           max_points):
            out.setdefault((run, name), []).extend(decode_series(run, name, cols))
        return [p for pts in out.values() for p in pts]

    def bucket_rows(self, runs, names=None, max_points=1000, from_=None, to=None):
        """Each series of one run or several, downsampled on the daemon to
        at most max_points buckets of iterations (PROTOCOL.md's minmax): a
        list of Bucket(run, name, iteration, min, max, last), by run, then
        series, then iteration.  What a plot needs of a long history, in
        one answer a run however many points it has."""
        out = []
        for run in _as_list(runs):
            params = {"id": run, "max_points": max_points, "minmax": True}
            for key, v in (("names", names), ("from", from_), ("to", to)):
                if v is not None:
                    params[key] = _as_list(v) if key == "names" else v
            res = self._conn.call("metrics", params)
            for b in res["buckets"]:
                out.extend(Bucket(res["id"], b["name"], *row) for row in zip(
                    b["iteration"], b["min"], b["max"], b["last"]))
        return out

    def buckets(self, runs, names=None, max_points=1000, from_=None, to=None):
        """bucket_rows as a pandas DataFrame: columns run, name,
        iteration, min, max, last."""
        _, pd = _frames._pandas()
        return pd.DataFrame(self.bucket_rows(runs, names, max_points, from_, to),
                            columns=list(Bucket._fields))

    def started(self, run):
        """The run's start (unix seconds, None before it starts): a point's
        time minus it is the point's wall time since the start, on which
        runs of different speeds compare."""
        # no point is at iteration 0: the answer is its start alone
        return self.call("metrics", {"id": run, "to": 0})["started"]

    def history(self, runs, names=None, wide=False, on="iteration", axis="iteration",
                from_=None, to=None, max_points=None):
        """history_points as a pandas DataFrame.  Long (default): columns
        run, name, epoch, iteration, time, value, one row a point.  wide:
        one column a (run, name), indexed by `on` ("iteration", or "epoch":
        the last point of each epoch); a cell with no point is NaN there,
        so tell a NaN value from a gap in the long form."""
        long = _frames.history(self._pages(self._conn, runs, names, axis, from_, to,
                                           max_points))
        return _frames.wide(long, on) if wide else long

    def history_wide_rows(self, runs, names=None, on="iteration", axis="iteration",
                          from_=None, to=None, max_points=None):
        """The wide form without pandas: (columns, rows), columns [on,
        (run, name)...], rows [value of on, value or None...] in order of
        on; None where a series has no point (NaN is a value)."""
        if on not in ("iteration", "epoch"):
            raise ValueError("on: expected \"iteration\" or \"epoch\", got %r" % (on,))
        table = collections.OrderedDict()
        for run, name, cols in self._pages(self._conn, runs, names, axis, from_, to,
                                           max_points, [on, "value"]):
            n = len(cols["value"]) // 8
            if len(cols[on]) != 8 * n:
                raise IgniteError(8, "series %r: columns of unequal lengths" % name)
            table.setdefault((run, name), {}).update(zip(
                struct.unpack(">%dQ" % n, cols[on]),
                struct.unpack(">%dd" % n, cols["value"])))
        axis_values = sorted({x for col in table.values() for x in col})
        return ([on] + list(table), [[x] + [col.get(x) for col in table.values()]
                                     for x in axis_values])

    # ---- live -----------------------------------------------------------

    def _watching(self, run):
        """A connection of its own that watches the run, and its summary."""
        conn = self._connect()
        try:
            st = conn.call("status", {"id": run})
            conn.call("watch", {"id": st["id"]})
        except BaseException:
            conn.close()
            raise
        return conn, st

    def _notes(self, conn, run_id, until, poll, timeout=None):
        """The notifications (method, params) about a run conn watches,
        until its status is one of until; ("tick", {}) after poll seconds
        without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("run %s is not %s after %g s"
                                   % (run_id, " or ".join(until), timeout))
            note = conn.next_note(poll)
            if note is None:
                if conn.call("status", {"id": run_id})["status"] in until:
                    return
                yield "tick", {}
                continue
            method, params = note
            if params.get("id") != run_id:
                continue
            yield method, params
            if method == "status" and params.get("status") in until:
                return

    def wait(self, run, until=ENDED, timeout=None, poll=1.0):
        """Block until the run's status is one of until (default: it has
        ended); its summary.  timeout: seconds, else TimeoutError (None: no
        limit)."""
        conn, st = self._watching(run)
        try:
            if st["status"] not in until:
                for _ in self._notes(conn, st["id"], until, poll, timeout):
                    pass
            return conn.call("status", {"id": st["id"]})
        finally:
            conn.close()

    def follow(self, run, names=None, history=True, poll=1.0):
        """A generator of the run's metric Points as they are recorded,
        until the run ends: first its history so far (history=False: only
        points after its current iteration), then the new ones a few times
        a second.  Each point comes once, in iteration order per series.
        Close the generator to stop early."""
        conn, st = self._watching(run)
        try:
            run_id = st["id"]
            floor = -1 if history else st["iteration"]
            last = collections.defaultdict(lambda: floor)
            cursor = max(floor, 0)

            def read():
                # the daemon's `metrics` notifications carry each metric's
                # value at epoch ends only: the points are read from the
                # history, from the last iteration read on (a page never
                # splits an iteration, one read may end inside one)
                nonlocal cursor
                for page_run, name, cols in self._pages(conn, run_id, names, "iteration",
                                                        cursor, None, None):
                    for p in decode_series(page_run, name, cols):
                        cursor = max(cursor, p.iteration)
                        if p.iteration > last[p.name]:
                            last[p.name] = p.iteration
                            yield p

            yield from read()       # watched first: nothing falls between
            for method, params in self._notes(conn, run_id, ENDED, poll):
                if method in ("progress", "metrics", "status", "tick"):
                    while conn.notes and conn.notes[0][1].get("status") not in ENDED:
                        conn.notes.popleft()        # one read for all of them
                    yield from read()
            yield from read()
        finally:
            conn.close()
