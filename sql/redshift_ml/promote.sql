-- Promote one model version. The lifecycle runs serving_view.sql, this file and recommend.sql as one
-- BatchExecuteStatement, which Redshift runs as a single transaction: if any statement fails, all are rolled back
-- (https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html).
UPDATE ${schema}.model_registry SET status = 'retired', decided_at = GETDATE() WHERE status = 'serving';
UPDATE ${schema}.model_registry SET status = 'serving', decided_at = GETDATE() WHERE model_name = '${model_name}';
