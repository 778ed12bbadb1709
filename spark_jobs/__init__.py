"""Spark jobs of the kit, runnable with spark-submit (modules shipped with --py-files) and with python -m."""
