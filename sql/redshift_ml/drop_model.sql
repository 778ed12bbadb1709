DROP MODEL IF EXISTS ${schema}.${model_name};
