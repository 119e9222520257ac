################################################################################
# REST API
################################################################################

output "api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "api_arn" {
  description = "ARN of the REST API (`arn:aws:apigateway:<region>::/restapis/<id>`)."
  value       = aws_api_gateway_rest_api.this.arn
}

output "api_execution_arn" {
  description = "Execution ARN of the REST API, the prefix for `execute-api:Invoke` IAM policies (`<execution_arn>/<stage>/<METHOD>/<path>`)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "api_root_resource_id" {
  description = "ID of the REST API's root resource (`/`)."
  value       = aws_api_gateway_rest_api.this.root_resource_id
}

output "route_keys" {
  description = "Routes of the API as `METHOD /path` strings."
  value       = keys(aws_api_gateway_method.route)
}

################################################################################
# Lambda Permission
################################################################################

output "lambda_permission_statement_id" {
  description = "Statement ID of the Lambda permission that lets this API invoke the function."
  value       = aws_lambda_permission.api_gateway.statement_id
}

output "lambda_permission_qualifier" {
  description = "Alias or version the Lambda permission is scoped to; `null` for the unqualified function."
  value       = aws_lambda_permission.api_gateway.qualifier
}

################################################################################
# Deployment and Stage
################################################################################

output "deployment_id" {
  description = "ID of the current deployment, replaced whenever a route, method or integration changes."
  value       = aws_api_gateway_deployment.this.id
}

output "deployment_trigger" {
  description = "SHA-1 of the routes, methods and integrations the current deployment was made from; a new value means a new deployment."
  value       = aws_api_gateway_deployment.this.triggers.redeployment
}

output "stage_name" {
  description = "Name of the stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "stage_arn" {
  description = "ARN of the stage."
  value       = aws_api_gateway_stage.this.arn
}

output "stage_execution_arn" {
  description = "Execution ARN of the stage (`<api_execution_arn>/<stage>`)."
  value       = aws_api_gateway_stage.this.execution_arn
}

output "stage_invoke_url" {
  description = "URL that invokes the stage on the default `execute-api` endpoint, without a trailing slash."
  value       = aws_api_gateway_stage.this.invoke_url
}

################################################################################
# CloudWatch Logs
################################################################################

output "access_log_group_name" {
  description = "Name of the CloudWatch log group receiving the stage's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "access_log_group_arn" {
  description = "ARN of the CloudWatch log group receiving the stage's access logs."
  value       = aws_cloudwatch_log_group.access.arn
}

output "execution_log_group_name" {
  description = "Name of the CloudWatch log group receiving the stage's execution logs; `null` when `logging_level` is `OFF`."
  value       = one(aws_cloudwatch_log_group.execution[*].name)
}

output "execution_log_group_arn" {
  description = "ARN of the CloudWatch log group receiving the stage's execution logs; `null` when `logging_level` is `OFF`."
  value       = one(aws_cloudwatch_log_group.execution[*].arn)
}

################################################################################
# Custom Domain
################################################################################

output "certificate_arn" {
  description = "ARN of the validated ACM certificate of the custom domain; `null` without a custom domain."
  value       = one(aws_acm_certificate_validation.this[*].certificate_arn)
}

output "domain_name" {
  description = "Custom domain name of the API; `null` without a custom domain."
  value       = one(aws_api_gateway_domain_name.this[*].domain_name)
}

output "domain_regional_domain_name" {
  description = "Regional target domain name of the custom domain, the ALIAS target `name` of the caller's Route 53 A record; `null` without a custom domain."
  value       = one(aws_api_gateway_domain_name.this[*].regional_domain_name)
}

output "domain_regional_zone_id" {
  description = "Hosted zone ID of the regional target, the ALIAS target `zone_id` of the caller's Route 53 A record; `null` without a custom domain."
  value       = one(aws_api_gateway_domain_name.this[*].regional_zone_id)
}

output "custom_domain_url" {
  description = "Base URL of the API on its custom domain (`https://<domain_name>/`), mapped to the stage; `null` without a custom domain."
  value       = one([for mapping in aws_api_gateway_base_path_mapping.this : "https://${mapping.domain_name}/"])
}
