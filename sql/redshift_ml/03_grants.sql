-- Database roles: ml_developer may create models; analysts may read recommendations (EXECUTE ON MODEL is
-- granted to ${analyst_role} by the lifecycle when it promotes a model). Roles are created by the bootstrap
-- only when svv_roles does not list them. The weekly lifecycle signs in as its own IAM role with ${ml_role} only
-- (its RedshiftDbRoles tag), not as the admin: it owns the models and the serving view it creates, so it may drop,
-- replace and grant them; it also records versions and rewrites the recommendations. Objects belong to a database
-- user, IAMR:<role name>: when the lifecycle's IAM role is replaced, the new user owns none of them. So the database
-- role (which any new lifecycle identity gets through its tag) holds the system permissions DROP MODEL (Cleanup drops
-- old versions; the refresh drops abandoned ones) and DROP VIEW (Promote re-creates, and so owns, a serving view
-- another user created), both grantable to roles (https://docs.aws.amazon.com/redshift/latest/dg/r_roles-system-privileges.html);
-- EXECUTE ON MODEL on each serving model goes to the role as well (serving_view.sql), so Evaluate can score it.
-- The namespace's default IAM role may read and write the model bucket. Every user holds ASSUMEROLE on it through
-- PUBLIC until a superuser revokes it (REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL, the statement the usage notes
-- ask for before any ASSUMEROLE grant: https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT-usage-notes.html and
-- r_REVOKE-usage-notes.html), so an analyst could COPY or UNLOAD ... IAM_ROLE default against it. After the revoke,
-- only ${ml_role} may use it, and only in CREATE MODEL (GRANT ASSUMEROLE ON { 'iam_role' | default | ALL } TO ROLE
-- ... FOR CREATE MODEL, https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT.html). The bootstrap's sample-data
-- COPY runs as the namespace admin, a superuser, who always keeps ASSUMEROLE (REVOKE usage notes).
REVOKE ASSUMEROLE ON ALL FROM PUBLIC FOR ALL;
GRANT ASSUMEROLE ON DEFAULT TO ROLE ${ml_role} FOR CREATE MODEL;
GRANT CREATE MODEL TO ROLE ${ml_role};
GRANT DROP MODEL TO ROLE ${ml_role};
GRANT DROP VIEW TO ROLE ${ml_role};
GRANT USAGE ON SCHEMA ${schema} TO ROLE ${ml_role};
GRANT CREATE ON SCHEMA ${schema} TO ROLE ${ml_role};
GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ROLE ${ml_role};
GRANT USAGE ON SCHEMA ${schema} TO ROLE ${analyst_role};
GRANT SELECT ON ${schema}.recommendations TO ROLE ${analyst_role};
GRANT SELECT ON ${schema}.model_registry TO ROLE ${analyst_role};
GRANT INSERT, UPDATE ON ${schema}.model_registry TO ROLE ${ml_role};
GRANT INSERT, DELETE ON ${schema}.recommendations TO ROLE ${ml_role};
