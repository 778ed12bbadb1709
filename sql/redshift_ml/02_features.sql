-- Pair features: the same columns for labelled interactions (training, holdout) and for unseen candidates.
CREATE OR REPLACE VIEW ${schema}.pair_features AS
SELECT
    p.seeker_id,
    p.job_id,
    p.event_time,
    p.applied,
    s.years_experience,
    j.required_experience,
    s.years_experience - j.required_experience AS experience_gap,
    CASE WHEN s.skill_area = j.skill_area THEN 1 ELSE 0 END AS skill_match,
    s.education_level - j.min_education AS education_gap,
    ROUND(CAST(j.salary AS DOUBLE PRECISION) / s.desired_salary, 4) AS salary_ratio,
    CASE WHEN s.region_id = j.region_id THEN 1 ELSE 0 END AS same_region,
    CASE WHEN j.is_remote AND s.open_to_remote THEN 1 ELSE 0 END AS remote_fit
FROM (
    SELECT seeker_id, job_id, event_time, CASE WHEN applied THEN 1 ELSE 0 END AS applied
    FROM ${schema}.interactions
    UNION ALL
    -- Candidates: jobs a seeker has not interacted with, in the seeker's region or remote.
    SELECT s.seeker_id, j.job_id, CAST(NULL AS TIMESTAMP) AS event_time, CAST(NULL AS INTEGER) AS applied
    FROM ${schema}.job_seekers AS s
    JOIN ${schema}.jobs AS j ON j.region_id = s.region_id OR (j.is_remote AND s.open_to_remote)
    WHERE NOT EXISTS (
        SELECT 1 FROM ${schema}.interactions AS i WHERE i.seeker_id = s.seeker_id AND i.job_id = j.job_id
    )
) AS p
JOIN ${schema}.job_seekers AS s ON s.seeker_id = p.seeker_id
JOIN ${schema}.jobs AS j ON j.job_id = p.job_id;

-- The holdout window starts this many days before the newest interaction; training uses everything before it.
CREATE OR REPLACE VIEW ${schema}.holdout_start AS
SELECT DATEADD(day, -${holdout_days}, MAX(event_time)) AS starts_at FROM ${schema}.interactions;
