-- Training state of one model version ('Model is Ready' when done). STV_ML_MODEL_INFO is not on Serverless.
SELECT model_state FROM svv_ml_model_info WHERE schema_name = :schema_name AND model_name = :model_name;
