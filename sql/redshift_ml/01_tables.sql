-- Schema and tables of the job-matching recommender. Idempotent: safe on every deploy.
CREATE SCHEMA IF NOT EXISTS ${schema};

CREATE TABLE IF NOT EXISTS ${schema}.job_seekers (
    seeker_id INTEGER NOT NULL,
    years_experience SMALLINT NOT NULL,
    skill_area SMALLINT NOT NULL,
    education_level SMALLINT NOT NULL,
    desired_salary INTEGER NOT NULL,
    region_id SMALLINT NOT NULL,
    open_to_remote BOOLEAN NOT NULL,
    PRIMARY KEY (seeker_id)
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS ${schema}.jobs (
    job_id INTEGER NOT NULL,
    required_experience SMALLINT NOT NULL,
    skill_area SMALLINT NOT NULL,
    min_education SMALLINT NOT NULL,
    salary INTEGER NOT NULL,
    region_id SMALLINT NOT NULL,
    is_remote BOOLEAN NOT NULL,
    posted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (job_id)
) DISTSTYLE ALL;

CREATE TABLE IF NOT EXISTS ${schema}.interactions (
    seeker_id INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    event_time TIMESTAMP NOT NULL,
    applied BOOLEAN NOT NULL
) DISTKEY (seeker_id) SORTKEY (event_time);

-- One row per model version the lifecycle trained; exactly one row is 'serving' once a model is promoted.
CREATE TABLE IF NOT EXISTS ${schema}.model_registry (
    model_name VARCHAR(127) NOT NULL,
    function_name VARCHAR(127) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    precision_at_k DOUBLE PRECISION,
    recall_at_k DOUBLE PRECISION,
    status VARCHAR(16) NOT NULL,
    decided_at TIMESTAMP,
    PRIMARY KEY (model_name)
);

CREATE TABLE IF NOT EXISTS ${schema}.recommendations (
    seeker_id INTEGER NOT NULL,
    job_id INTEGER NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    rank SMALLINT NOT NULL,
    model_name VARCHAR(127) NOT NULL,
    generated_at TIMESTAMP NOT NULL
) DISTKEY (seeker_id) SORTKEY (seeker_id, rank);

-- Which sample data the bootstrap loaded (its S3 keys name the files' content): a redeploy of the same sample is a
-- no-op, and rows that are not that sample are never replaced unless redshift_sample_data_overwrite is set.
CREATE TABLE IF NOT EXISTS ${schema}.sample_data_loads (
    sample VARCHAR(1024) NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
