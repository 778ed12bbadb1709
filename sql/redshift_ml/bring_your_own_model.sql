-- Bring your own model: run an XGBoost model trained by a SageMaker training job (for example the churn
-- pipeline's) inside Redshift, with no endpoint. The job must be in this account and region and have
-- completed; the feature types must match the training columns in order (label excluded).
-- Render with: python lambdas/redshift_sql/templates.py bring_your_own_model schema=... (see README).
-- The model is named in ${schema}, and "the function is created in the same schema as the model object" (CREATE
-- MODEL parameters, https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_use_cases.html): call it as
-- ${schema}.${function_name}(...), never unqualified (that resolves through the caller's search_path).
CREATE MODEL ${schema}.${model_name}
FROM '${training_job_name}'
FUNCTION ${function_name} (${argument_types})
RETURNS FLOAT
IAM_ROLE DEFAULT
SETTINGS (
    S3_BUCKET '${bucket}',
    KMS_KEY_ID '${kms_key_id}'
);
