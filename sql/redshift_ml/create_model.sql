-- Train one model version on everything before the holdout window (the split is by time, decided here,
-- not by Redshift ML). AUTO OFF runs a single XGBoost training job. OBJECTIVE 'reg:logistic' fits P(applied) in
-- [0, 1] (binary:logistic under AUTO OFF returns the class), so candidates can be ranked by score; the target is
-- cast to DOUBLE PRECISION so the inference function returns that fraction, not an INTEGER that would round every
-- score to 0 or 1 and destroy the ranking. With AUTO OFF, PREPROCESSORS is required and must be 'none', between
-- OBJECTIVE and HYPERPARAMETERS (full syntax: https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_MODEL.html;
-- XGBoost AUTO OFF example: https://docs.aws.amazon.com/redshift/latest/dg/r_create_model_use_cases.html).
-- The lifecycle sets MAX_CELLS to rows x columns, so nothing is down-sampled.
CREATE MODEL ${schema}.${model_name}
FROM (
    SELECT
        f.years_experience, f.required_experience, f.experience_gap, f.skill_match,
        f.education_gap, f.salary_ratio, f.same_region, f.remote_fit,
        CAST(f.applied AS DOUBLE PRECISION) AS applied
    FROM ${schema}.pair_features AS f
    CROSS JOIN ${schema}.holdout_start AS h
    WHERE f.applied IS NOT NULL AND f.event_time < h.starts_at
)
TARGET applied
FUNCTION ${function_name}
IAM_ROLE DEFAULT
AUTO OFF
MODEL_TYPE XGBOOST
OBJECTIVE 'reg:logistic'
PREPROCESSORS 'none'
HYPERPARAMETERS DEFAULT EXCEPT (NUM_ROUND '100', MAX_DEPTH '5', ETA '0.2', SUBSAMPLE '0.8')
SETTINGS (
    S3_BUCKET '${bucket}',
    KMS_KEY_ID '${kms_key_id}',
    MAX_CELLS ${max_cells},
    MAX_RUNTIME ${max_runtime_seconds}
);
