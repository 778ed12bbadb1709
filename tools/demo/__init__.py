"""`make demo`: the kit's data plane end to end on this machine, no AWS account needed."""
