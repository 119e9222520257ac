################################################################################
# VPC
################################################################################

output "vpc_id" {
  description = "The ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_arn" {
  description = "The ARN of the VPC."
  value       = aws_vpc.this.arn
}

output "vpc_cidr_block" {
  description = "The IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "The availability zones used, in the order of the subnet lists."
  value       = var.azs
}

################################################################################
# Public Subnets
################################################################################

output "igw_id" {
  description = "The ID of the internet gateway."
  value       = aws_internet_gateway.this.id
}

output "public_subnets" {
  description = "The IDs of the public subnets, in the order of `azs`."
  value       = [for az in var.azs : aws_subnet.public[az].id]
}

output "public_subnets_cidr_blocks" {
  description = "The IPv4 CIDR blocks of the public subnets, in the order of `azs`."
  value       = [for az in var.azs : aws_subnet.public[az].cidr_block]
}

output "public_route_table_ids" {
  description = "The IDs of the public route tables (one, shared by all public subnets)."
  value       = [aws_route_table.public.id]
}

################################################################################
# Private Subnets
################################################################################

output "private_subnets" {
  description = "The IDs of the private subnets (for Aurora and Lambda), in the order of `azs`."
  value       = [for az in var.azs : aws_subnet.private[az].id]
}

output "private_subnets_cidr_blocks" {
  description = "The IPv4 CIDR blocks of the private subnets, in the order of `azs`."
  value       = [for az in var.azs : aws_subnet.private[az].cidr_block]
}

output "private_route_table_ids" {
  description = "The IDs of the private route tables (one per availability zone), in the order of `azs`."
  value       = [for az in var.azs : aws_route_table.private[az].id]
}

################################################################################
# NAT Gateway
################################################################################

output "natgw_ids" {
  description = "The IDs of the NAT gateways: one (first AZ) with `single_nat_gateway`, otherwise one per AZ in the order of `azs`."
  value       = [for az in local.nat_azs : aws_nat_gateway.this[az].id]
}

output "nat_public_ips" {
  description = "The public Elastic IP addresses of the NAT gateways, in the order of `natgw_ids`."
  value       = [for az in local.nat_azs : aws_eip.nat[az].public_ip]
}

################################################################################
# Default Security Group
################################################################################

output "default_security_group_id" {
  description = "The ID of the VPC's default security group (stripped of all rules when `manage_default_security_group` is `true`)."
  value       = try(aws_default_security_group.this[0].id, aws_vpc.this.default_security_group_id)
}

################################################################################
# Flow Log
################################################################################

output "flow_log_id" {
  description = "The ID of the VPC flow log, or `null` when `enable_flow_log` is `false`."
  value       = try(aws_flow_log.this[0].id, null)
}

output "flow_log_cloudwatch_log_group_name" {
  description = "The name of the CloudWatch log group receiving the flow log, or `null` when `enable_flow_log` is `false`."
  value       = try(aws_cloudwatch_log_group.flow_log[0].name, null)
}

output "flow_log_cloudwatch_log_group_arn" {
  description = "The ARN of the CloudWatch log group receiving the flow log, or `null` when `enable_flow_log` is `false`."
  value       = try(aws_cloudwatch_log_group.flow_log[0].arn, null)
}

output "flow_log_cloudwatch_iam_role_arn" {
  description = "The ARN of the IAM role VPC Flow Logs assumes to write to the log group, or `null` when `enable_flow_log` is `false`."
  value       = try(aws_iam_role.flow_log[0].arn, null)
}
