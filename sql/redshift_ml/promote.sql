-- Promote one model version: queries keep using the stable view name ${schema}.job_match_scores while the
-- function behind it changes version. The lifecycle runs this file and recommend.sql as one BatchExecuteStatement,
-- which Redshift runs as a single transaction: if any statement fails, all are rolled back
-- (https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html).
CREATE OR REPLACE VIEW ${schema}.job_match_scores AS
SELECT
    f.seeker_id,
    f.job_id,
    ${schema}.${function_name}(
        f.years_experience, f.required_experience, f.experience_gap, f.skill_match,
        f.education_gap, f.salary_ratio, f.same_region, f.remote_fit
    ) AS score,
    CAST('${model_name}' AS VARCHAR(127)) AS model_name
FROM ${schema}.pair_features AS f
WHERE f.applied IS NULL;
GRANT EXECUTE ON MODEL ${schema}.${model_name} TO ROLE ${analyst_role};
GRANT SELECT ON ${schema}.job_match_scores TO ROLE ${analyst_role};
UPDATE ${schema}.model_registry SET status = 'retired', decided_at = GETDATE() WHERE status = 'serving';
UPDATE ${schema}.model_registry SET status = 'serving', decided_at = GETDATE() WHERE model_name = '${model_name}';
