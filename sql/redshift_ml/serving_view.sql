-- The serving view: queries keep using the stable view name ${schema}.job_match_scores while the function behind
-- it changes version. Run by the lifecycle's Promote (with promote.sql and recommend.sql, one transaction) and by
-- the bootstrap when a feature-view migration had to drop and re-create this dependent view.
-- ${ml_role} may execute every serving model, so a lifecycle signing in as a new IAM role (database user
-- IAMR:<new role>) can still evaluate the model an earlier role created and owns.
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
GRANT EXECUTE ON MODEL ${schema}.${model_name} TO ROLE ${ml_role};
GRANT SELECT ON ${schema}.job_match_scores TO ROLE ${analyst_role};
