-- Bring your own model: run an XGBoost model trained by a SageMaker training job (for example the churn
-- pipeline's) inside Redshift, with no endpoint. The job must be in this account and region and have
-- completed; the feature types must match the training columns in order (label excluded).
-- Render with: python lambdas/redshift_sql/templates.py bring_your_own_model schema=... (see README).
CREATE MODEL ${schema}.${model_name}
FROM '${training_job_name}'
FUNCTION ${function_name} (${argument_types})
RETURNS FLOAT
IAM_ROLE DEFAULT
SETTINGS (
    S3_BUCKET '${bucket}',
    KMS_KEY_ID '${kms_key_id}'
);
