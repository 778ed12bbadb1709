-- Top-K unseen jobs per seeker from the serving model, rewritten as one transaction.
DELETE FROM ${schema}.recommendations;
INSERT INTO ${schema}.recommendations (seeker_id, job_id, score, rank, model_name, generated_at)
SELECT seeker_id, job_id, score, ROW_NUMBER() OVER (PARTITION BY seeker_id ORDER BY score DESC, job_id), model_name, GETDATE()
FROM ${schema}.job_match_scores
QUALIFY ROW_NUMBER() OVER (PARTITION BY seeker_id ORDER BY score DESC, job_id) <= ${top_k};
