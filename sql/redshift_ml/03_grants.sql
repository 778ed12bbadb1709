-- Database roles: ml_developer may create models; analysts may read recommendations (EXECUTE ON MODEL is
-- granted to ${analyst_role} by the lifecycle when it promotes a model). Roles are created by the bootstrap
-- only when svv_roles does not list them. The weekly lifecycle signs in as its own IAM role with ${ml_role} only
-- (its RedshiftDbRoles tag), not as the admin: it owns the models and the serving view it creates, so it may drop,
-- replace and grant them; it also records versions and rewrites the recommendations. Using the namespace's default
-- IAM role in CREATE MODEL needs no grant unless a superuser has run REVOKE ASSUMEROLE ON ALL FROM PUBLIC
-- (https://docs.aws.amazon.com/redshift/latest/dg/r_GRANT-usage-notes.html, ASSUMEROLE).
GRANT CREATE MODEL TO ROLE ${ml_role};
GRANT USAGE ON SCHEMA ${schema} TO ROLE ${ml_role};
GRANT CREATE ON SCHEMA ${schema} TO ROLE ${ml_role};
GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ROLE ${ml_role};
GRANT USAGE ON SCHEMA ${schema} TO ROLE ${analyst_role};
GRANT SELECT ON ${schema}.recommendations TO ROLE ${analyst_role};
GRANT SELECT ON ${schema}.model_registry TO ROLE ${analyst_role};
GRANT INSERT, UPDATE ON ${schema}.model_registry TO ROLE ${ml_role};
GRANT INSERT, DELETE ON ${schema}.recommendations TO ROLE ${ml_role};
