-- Training state of one model version ('Model is Ready' when done). STV_ML_MODEL_INFO is not on Serverless.
-- Every column here is CHAR(128), blank-padded: trim before comparing or returning
-- (https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_ML_MODEL_INFO.html).
SELECT TRIM(model_state) AS model_state FROM svv_ml_model_info
WHERE TRIM(schema_name) = :schema_name AND TRIM(model_name) = :model_name;
