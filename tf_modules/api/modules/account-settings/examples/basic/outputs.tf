output "cloudwatch_role_arn" {
  description = "Role API Gateway uses to write logs in this account and region."
  value       = module.account_settings.cloudwatch_role_arn
}
