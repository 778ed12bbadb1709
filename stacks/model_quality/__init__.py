"""Model-quality architecture: daily precision-recall job on EMR Serverless, results in S3, Athena, QuickSight."""
