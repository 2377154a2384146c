"""pandas DataFrames of runs and histories; pandas is imported only here,
when a DataFrame is asked for."""


def _pandas():
    try:
        import numpy
        import pandas
    except ImportError as e:
        raise ImportError(
            "ignite_client: this function returns a pandas DataFrame and needs "
            "pandas (Debian: apt install python3-pandas; else pip install pandas).  "
            "Without it use the plain forms: runs_rows(), history_points(), "
            "history_wide_rows()") from e
    return numpy, pandas


def runs(rows, keys):
    """One row a run: the summary keys, then params.*, then metrics.*."""
    _, pd = _pandas()
    extra = sorted({k for row in rows for k in row if k not in keys},
                   key=lambda k: (not k.startswith("params."), k))
    df = pd.DataFrame(rows, columns=list(keys) + extra)
    for k in ("created", "started", "finished"):
        df[k] = pd.to_datetime(df[k], unit="s", utc=True)
    return df


def history(pages):
    """The long form from (run, name, columns) pages: the columns' bytes
    joined and read as big-endian numbers, values bit for bit."""
    np, pd = _pandas()
    parts = {}
    for run, name, cols in pages:
        part = parts.setdefault((run, name), {k: [] for k in cols})
        for k, b in cols.items():
            part[k].append(b)
    frames = []
    for (run, name), part in parts.items():
        col = {k: b"".join(v) for k, v in part.items()}
        n = len(col["value"]) // 8
        frames.append(pd.DataFrame({
            "run": np.full(n, run, dtype=np.int64),
            "name": [name] * n,
            "epoch": np.frombuffer(col["epoch"], ">u8").astype(np.int64),
            "iteration": np.frombuffer(col["iteration"], ">u8").astype(np.int64),
            "time": np.frombuffer(col["time"], ">f8").astype(np.float64),
            "value": np.frombuffer(col["value"], ">f8").astype(np.float64),
        }))
    if not frames:
        return pd.DataFrame({"run": np.array([], np.int64), "name": [],
                             "epoch": np.array([], np.int64),
                             "iteration": np.array([], np.int64),
                             "time": np.array([]), "value": np.array([])})
    return pd.concat(frames, ignore_index=True)


def wide(long, on):
    """One column a (run, name), indexed by on; by epoch the last point of
    each epoch."""
    if on not in ("iteration", "epoch"):
        raise ValueError("on: expected \"iteration\" or \"epoch\", got %r" % (on,))
    last = long.drop_duplicates(["run", "name", on], keep="last")
    return last.pivot(index=on, columns=["run", "name"], values="value")
