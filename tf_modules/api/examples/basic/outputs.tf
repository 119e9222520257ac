output "api_id" {
  description = "ID of the REST API."
  value       = module.api.api_id
}

output "stage_invoke_url" {
  description = "URL of the stage on the default execute-api endpoint."
  value       = module.api.stage_invoke_url
}

output "custom_domain_url" {
  description = "URL of the API on its custom domain."
  value       = module.api.custom_domain_url
}

output "access_log_group_name" {
  description = "Log group receiving the stage's access logs."
  value       = module.api.access_log_group_name
}

output "cloudwatch_role_arn" {
  description = "Role API Gateway uses to write logs in this account and region."
  value       = module.account_settings.cloudwatch_role_arn
}
