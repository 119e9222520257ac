################################################################################
# IAM Role
################################################################################

output "cloudwatch_role_name" {
  description = "Name of the IAM role API Gateway uses to write to CloudWatch Logs."
  value       = aws_iam_role.cloudwatch.name
}

output "cloudwatch_role_arn" {
  description = "ARN of the IAM role API Gateway uses to write to CloudWatch Logs."
  value       = aws_iam_role.cloudwatch.arn
}

################################################################################
# API Gateway Account
################################################################################

output "account_cloudwatch_role_arn" {
  description = "CloudWatch Logs role ARN as set in the region's API Gateway account settings (depend on it before creating stages that log); `null` when `manage_account_settings` is `false`."
  value       = one(aws_api_gateway_account.this[*].cloudwatch_role_arn)
}
