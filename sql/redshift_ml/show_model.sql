-- Why a model failed: SHOW MODEL lists Key | Value rows, including the failure reason
-- (https://docs.aws.amazon.com/redshift/latest/dg/r_SHOW_MODEL.html).
SHOW MODEL ${schema}.${model_name};
