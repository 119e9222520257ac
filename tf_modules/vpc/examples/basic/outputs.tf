output "vpc_id" {
  description = "The ID of the VPC."
  value       = module.vpc.vpc_id
}

output "public_subnets" {
  description = "The IDs of the public subnets, in AZ order."
  value       = module.vpc.public_subnets
}

output "private_subnets" {
  description = "The IDs of the private subnets, in AZ order."
  value       = module.vpc.private_subnets
}

output "natgw_ids" {
  description = "The IDs of the NAT gateways."
  value       = module.vpc.natgw_ids
}

output "default_security_group_id" {
  description = "The ID of the rule-less default security group."
  value       = module.vpc.default_security_group_id
}

output "flow_log_cloudwatch_log_group_name" {
  description = "The name of the flow log group."
  value       = module.vpc.flow_log_cloudwatch_log_group_name
}
