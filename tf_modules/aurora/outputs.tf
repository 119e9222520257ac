################################################################################
# Cluster
################################################################################

output "cluster_identifier" {
  description = "Identifier of the Aurora cluster (`aurora-<suffix>`)."
  value       = aws_rds_cluster.this.cluster_identifier
}

output "cluster_arn" {
  description = "ARN of the Aurora cluster."
  value       = aws_rds_cluster.this.arn
}

output "cluster_resource_id" {
  description = "Region-unique, immutable resource ID of the cluster (`cluster-...`), used in IAM database authentication policies (`rds-db:connect`)."
  value       = aws_rds_cluster.this.cluster_resource_id
}

output "cluster_endpoint" {
  description = "Writer endpoint of the cluster (follows the writer across failovers)."
  value       = aws_rds_cluster.this.endpoint
}

output "cluster_reader_endpoint" {
  description = "Load-balanced read-only endpoint over the readers (the writer when there are none)."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "cluster_port" {
  description = "Port the cluster listens on (3306)."
  value       = aws_rds_cluster.this.port
}

output "cluster_database_name" {
  description = "Name of the database created in the cluster."
  value       = aws_rds_cluster.this.database_name
}

output "cluster_master_username" {
  description = "Master user name of the cluster; its password lives only in the secret `cluster_master_user_secret_arn`."
  value       = aws_rds_cluster.this.master_username
}

output "cluster_master_user_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret holding the master credentials (JSON `username`/`password`), encrypted with `kms_key_arn`; never the password itself."
  value       = try(aws_rds_cluster.this.master_user_secret[0].secret_arn, null)
}

output "final_snapshot_identifier" {
  description = "Name of the snapshot a destroy will leave behind (`aurora-final-<suffix>-<YYYYMMDDhhmmss>`), or `null` when `skip_final_snapshot` is true."
  value       = var.skip_final_snapshot ? null : local.final_snapshot_identifier
}

################################################################################
# Cluster Instances
################################################################################

output "cluster_instances" {
  description = "Instances keyed `writer`, `reader-1`, ...: `identifier`, `endpoint`, `availability_zone` and the configured `role` (`writer` or `reader`; a failover can swap the live roles)."
  value = merge(
    {
      writer = {
        identifier        = aws_rds_cluster_instance.writer.identifier
        endpoint          = aws_rds_cluster_instance.writer.endpoint
        availability_zone = aws_rds_cluster_instance.writer.availability_zone
        role              = "writer"
      }
    },
    {
      for key, reader in aws_rds_cluster_instance.readers : key => {
        identifier        = reader.identifier
        endpoint          = reader.endpoint
        availability_zone = reader.availability_zone
        role              = "reader"
      }
    },
  )
}

################################################################################
# Security Group
################################################################################

output "security_group_id" {
  description = "ID of the cluster's security group (Name tag `sg-aurora-<suffix>`; ingress TCP 3306 from `allowed_security_group_ids` only, no egress)."
  value       = aws_security_group.cluster.id
}

################################################################################
# DB Subnet Group
################################################################################

output "db_subnet_group_name" {
  description = "Name of the DB subnet group (`subnet-group-aurora-<suffix>`)."
  value       = aws_db_subnet_group.cluster.name
}

################################################################################
# Parameter Groups
################################################################################

output "cluster_parameter_group_name" {
  description = "Name of the DB cluster parameter group (`pg-aurora-cluster-<suffix>`)."
  value       = aws_rds_cluster_parameter_group.cluster.name
}

output "db_parameter_group_name" {
  description = "Name of the DB instance parameter group (`pg-aurora-instance-<suffix>`)."
  value       = aws_db_parameter_group.instances.name
}

################################################################################
# CloudWatch Log Groups
################################################################################

output "cloudwatch_log_group_names" {
  description = "Names of the log groups receiving the exported logs, keyed by log type (`audit`, `error`, `slowquery`, ...)."
  value       = { for type, group in aws_cloudwatch_log_group.exports : type => group.name }
}

################################################################################
# Enhanced Monitoring
################################################################################

output "enhanced_monitoring_iam_role_arn" {
  description = "ARN of the Enhanced Monitoring role `role-rds-monitoring-<suffix>`, or `null` when `monitoring_interval` is 0."
  value       = try(aws_iam_role.monitoring[0].arn, null)
}

################################################################################
# CloudWatch Alarms
################################################################################

output "cloudwatch_alarm_names" {
  description = "Names of the alarms keyed `writer-cpu`, `writer-connections`, `reader-connections`, `writer-freeable-memory`, `reader-freeable-memory`, `writer-free-local-storage`, `reader-free-local-storage`, `reader-replica-lag` (reader keys only with readers); empty when `create_cloudwatch_alarms` is false."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name }
}

output "cloudwatch_alarm_arns" {
  description = "ARNs of the alarms, keyed as `cloudwatch_alarm_names`."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}

output "cloudwatch_alarm_max_connections" {
  description = "max_connections the connections alarms compare against (see `cloudwatch_alarm_max_connections`), or `null` when `create_cloudwatch_alarms` is false."
  value       = local.create_cloudwatch_alarms ? local.max_connections : null
}
