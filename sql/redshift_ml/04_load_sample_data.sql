-- Sample data load, run as one transaction (BatchExecuteStatement): readers never see empty tables.
DELETE FROM ${schema}.interactions;
DELETE FROM ${schema}.jobs;
DELETE FROM ${schema}.job_seekers;
COPY ${schema}.job_seekers FROM 's3://${bucket}/${seekers_key}' IAM_ROLE DEFAULT CSV IGNOREHEADER 1;
COPY ${schema}.jobs FROM 's3://${bucket}/${jobs_key}' IAM_ROLE DEFAULT CSV IGNOREHEADER 1 TIMEFORMAT 'YYYY-MM-DD HH:MI:SS';
COPY ${schema}.interactions FROM 's3://${bucket}/${interactions_key}' IAM_ROLE DEFAULT CSV IGNOREHEADER 1 TIMEFORMAT 'YYYY-MM-DD HH:MI:SS';
