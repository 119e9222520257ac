output "cluster_endpoint" {
  description = "Writer endpoint of the example cluster."
  value       = module.aurora.cluster_endpoint
}

output "cluster_reader_endpoint" {
  description = "Reader endpoint of the example cluster."
  value       = module.aurora.cluster_reader_endpoint
}

output "cluster_master_user_secret_arn" {
  description = "ARN of the RDS-managed master user secret."
  value       = module.aurora.cluster_master_user_secret_arn
}

output "cluster_instances" {
  description = "Writer and readers of the example cluster."
  value       = module.aurora.cluster_instances
}

output "cloudwatch_alarm_names" {
  description = "Alarms of the example cluster, keyed by what they watch."
  value       = module.aurora.cloudwatch_alarm_names
}
