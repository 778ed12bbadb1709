-- Sample data load, run as one transaction (BatchExecuteStatement): readers never see empty tables. The bootstrap
-- runs it only into empty tables, or over rows when redshift_sample_data_overwrite is set (never with retain_data);
-- then it also rewrites (or, with no serving model, empties) the recommendations, which name the replaced ids.
DELETE FROM ${schema}.interactions;
DELETE FROM ${schema}.jobs;
DELETE FROM ${schema}.job_seekers;
COPY ${schema}.job_seekers FROM 's3://${bucket}/${seekers_key}' IAM_ROLE DEFAULT CSV IGNOREHEADER 1;
COPY ${schema}.jobs FROM 's3://${bucket}/${jobs_key}' IAM_ROLE DEFAULT CSV IGNOREHEADER 1 TIMEFORMAT 'YYYY-MM-DD HH:MI:SS';
COPY ${schema}.interactions FROM 's3://${bucket}/${interactions_key}' IAM_ROLE DEFAULT CSV IGNOREHEADER 1 TIMEFORMAT 'YYYY-MM-DD HH:MI:SS';
INSERT INTO ${schema}.sample_data_loads (sample, loaded_at) VALUES ('s3://${bucket}/${seekers_key} s3://${bucket}/${jobs_key} s3://${bucket}/${interactions_key}', GETDATE());
