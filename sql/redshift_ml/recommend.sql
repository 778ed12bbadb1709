-- Top-K unseen jobs per seeker from the serving model. The lifecycle runs these statements in the same
-- BatchExecuteStatement (one transaction) as promote.sql, so the serving view and the recommendations change together.
-- QUALIFY directly after FROM needs an alias on the FROM relation
-- (https://docs.aws.amazon.com/redshift/latest/dg/r_QUALIFY_clause.html).
DELETE FROM ${schema}.recommendations;
INSERT INTO ${schema}.recommendations (seeker_id, job_id, score, rank, model_name, generated_at)
SELECT s.seeker_id, s.job_id, s.score, ROW_NUMBER() OVER (PARTITION BY s.seeker_id ORDER BY s.score DESC, s.job_id), s.model_name, GETDATE()
FROM ${schema}.job_match_scores AS s
QUALIFY ROW_NUMBER() OVER (PARTITION BY s.seeker_id ORDER BY s.score DESC, s.job_id) <= ${top_k};
