-- Precision@K and recall@K of one model version on the holdout window: for each seeker with at least one
-- application in the window, rank the jobs they saw by score; precision@K = applications in the top K / K,
-- recall@K = applications in the top K / all their applications; both averaged over those seekers.
WITH scored AS (
    SELECT
        f.seeker_id,
        f.job_id,
        f.applied,
        ${schema}.${function_name}(
            f.years_experience, f.required_experience, f.experience_gap, f.skill_match,
            f.education_gap, f.salary_ratio, f.same_region, f.remote_fit
        ) AS score
    FROM ${schema}.pair_features AS f
    CROSS JOIN ${schema}.holdout_start AS h
    WHERE f.applied IS NOT NULL AND f.event_time >= h.starts_at
),
ranked AS (
    SELECT seeker_id, applied, ROW_NUMBER() OVER (PARTITION BY seeker_id ORDER BY score DESC, job_id) AS position
    FROM scored
),
per_seeker AS (
    SELECT
        seeker_id,
        SUM(CASE WHEN position <= :k THEN applied ELSE 0 END) AS hits,
        SUM(applied) AS relevant
    FROM ranked
    GROUP BY seeker_id
    HAVING SUM(applied) > 0
)
SELECT
    AVG(CAST(hits AS DOUBLE PRECISION) / :k) AS precision_at_k,
    AVG(CAST(hits AS DOUBLE PRECISION) / relevant) AS recall_at_k,
    COUNT(*) AS seekers
FROM per_seeker;
