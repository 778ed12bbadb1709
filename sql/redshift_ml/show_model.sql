-- Why a model failed: SHOW MODEL lists key/value rows, including the failure reason.
SHOW MODEL ${schema}.${model_name};
