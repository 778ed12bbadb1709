"""Offline cost model of the kit (`make cost`): prices x usage assumptions x what the templates deploy."""
