"""ignite_client: ignited's runs and metric histories from Python (a
notebook), as mlflow.search_runs and get_metric_history give them.

    import ignite_client
    c = ignite_client.Client()                 # the socket ignitectl uses
    run = c.start(spec, name="lr0.1")          # a run spec as a dict
    for p in c.follow(run, names="loss"):      # live, until the run ends
        print(p.iteration, p.value)
    c.runs()                                   # DataFrame, one row a run
    c.history([run, "baseline"], names="val_acc", wide=True)

Only python3-msgpack is needed; the methods that return DataFrames need
pandas too, and each has a plain form (runs_rows, history_points,
history_wide_rows).  Errors of the daemon raise IgniteError (or its
subclass for the code: NotFound, Conflict, ...) with .code, .name and
.message.  The wire is docs/PROTOCOL.md.
"""

from ._wire import (BadRequest, Conflict, FrameError, IgniteError, Internal,
                    InvalidParams, NotFound, PermissionDenied, TooLarge,
                    Unavailable, UnknownMethod, VersionMismatch, socket_path)
from .client import Bucket, Client, Point, decode_series

__all__ = ["Client", "Point", "Bucket", "IgniteError", "BadRequest", "UnknownMethod",
           "InvalidParams", "NotFound", "PermissionDenied", "Conflict",
           "Unavailable", "Internal", "TooLarge", "VersionMismatch",
           "FrameError", "socket_path", "decode_series"]
