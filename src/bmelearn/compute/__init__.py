"""Where work runs and what it keeps: the execution backends (the one owner of parallelism),
the checkpoint of completed fits, the feature cache, and array files written atomically."""
