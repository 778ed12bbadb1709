"""Architecture 3: SageMaker Spark churn model (pipeline, registry, monitored endpoint, optional notebook)."""
