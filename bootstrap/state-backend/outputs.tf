output "bucket" {
  description = "Name of the state bucket (TF_STATE_BUCKET)."
  value       = aws_s3_bucket.state.bucket
}

output "region" {
  description = "Region of the bucket, key and table (TF_STATE_REGION)."
  value       = var.region
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the states (TF_STATE_KMS_KEY_ID)."
  value       = aws_kms_key.state.arn
}

output "kms_alias" {
  description = "Alias of the state key."
  value       = aws_kms_alias.state.name
}

output "lock_table_name" {
  description = "Name of the DynamoDB lock table (TF_STATE_LOCK_TABLE), or null when none was created."
  value       = var.create_lock_table ? aws_dynamodb_table.lock[0].name : null
}

output "backend_env" {
  description = "The environment that points the stacks at this bucket: export each entry before synthesizing."
  value = merge(
    {
      TF_BACKEND          = "s3"
      TF_STATE_BUCKET     = aws_s3_bucket.state.bucket
      TF_STATE_REGION     = var.region
      TF_STATE_KMS_KEY_ID = aws_kms_key.state.arn
      TF_STATE_LOCK       = var.create_lock_table ? "dynamodb" : "lockfile"
    },
    var.create_lock_table ? { TF_STATE_LOCK_TABLE = aws_dynamodb_table.lock[0].name } : {},
  )
}
