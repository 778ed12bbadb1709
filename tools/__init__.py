"""Developer tools of the kit: template snapshots, diagrams, the cost model and the local demo."""
