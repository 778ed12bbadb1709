-- Database roles: ml_developer may create models; analysts may read recommendations (EXECUTE ON MODEL is
-- granted to ${analyst_role} by the lifecycle when it promotes a model). Roles are created by the bootstrap
-- only when svv_roles does not list them.
GRANT CREATE MODEL TO ROLE ${ml_role};
GRANT USAGE ON SCHEMA ${schema} TO ROLE ${ml_role};
GRANT CREATE ON SCHEMA ${schema} TO ROLE ${ml_role};
GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ROLE ${ml_role};
GRANT USAGE ON SCHEMA ${schema} TO ROLE ${analyst_role};
GRANT SELECT ON ${schema}.recommendations TO ROLE ${analyst_role};
GRANT SELECT ON ${schema}.model_registry TO ROLE ${analyst_role};
