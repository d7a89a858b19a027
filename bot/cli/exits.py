"""The `microlearn` command's exit codes: 0 done, 1 failed, 2 used wrongly."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
