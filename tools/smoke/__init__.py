"""`make smoke`: the sandbox acceptance test. Runs each deployed architecture's real path and cleans up after it."""
