# Offline unit tests: the AWS provider is mocked, so these check what the module asks AWS for.
# Run: python3 -m tools.tf -chdir=tf_modules/aurora init -backend=false && python3 -m tools.tf -chdir=tf_modules/aurora test

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
}

variables {
  environment_suffix = "dev"
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb", "subnet-0cccccccccccccccc"]
  availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
  allowed_security_group_ids = {
    lambda = "sg-0123456789abcdef0"
  }
  tags = {
    Project = "trading"
  }
}

run "defaults_build_writer_and_two_readers_on_r5_large" {
  command = plan

  assert {
    condition     = aws_rds_cluster.this.cluster_identifier == "aurora-dev"
    error_message = "The cluster must be named aurora-<suffix>."
  }

  assert {
    condition     = aws_rds_cluster.this.engine == "aurora-mysql" && aws_rds_cluster.this.engine_mode == "provisioned"
    error_message = "The cluster must be provisioned Aurora MySQL."
  }

  assert {
    condition     = aws_rds_cluster.this.engine_version == "8.0.mysql_aurora.3.10.1"
    error_message = "The default engine must be Aurora MySQL 3.10.1 (MySQL 8.0 compatible, LTS)."
  }

  assert {
    condition     = aws_rds_cluster_instance.writer.identifier == "aurora-writer-dev" && aws_rds_cluster_instance.writer.instance_class == "db.r5.large"
    error_message = "The writer must be aurora-writer-<suffix> on db.r5.large."
  }

  assert {
    condition     = length(aws_rds_cluster_instance.readers) == 2 && 1 + length(aws_rds_cluster_instance.readers) == 3
    error_message = "Defaults must give 3 instances: the writer and 2 readers."
  }

  assert {
    condition = (
      aws_rds_cluster_instance.readers["reader-1"].identifier == "aurora-reader-1-dev" &&
      aws_rds_cluster_instance.readers["reader-2"].identifier == "aurora-reader-2-dev"
    )
    error_message = "Readers must be named aurora-reader-<n>-<suffix>."
  }

  assert {
    condition     = alltrue([for r in aws_rds_cluster_instance.readers : r.instance_class == "db.r5.large" && r.promotion_tier == 1])
    error_message = "Every reader must run on db.r5.large and be a failover target (promotion tier 1)."
  }

  assert {
    condition = (
      aws_rds_cluster_instance.writer.availability_zone == "us-east-1a" &&
      aws_rds_cluster_instance.readers["reader-1"].availability_zone == "us-east-1b" &&
      aws_rds_cluster_instance.readers["reader-2"].availability_zone == "us-east-1c"
    )
    error_message = "Instances must be spread over the availability zones: writer in the first, reader n in zone n."
  }

  assert {
    condition = alltrue([
      for i in concat([aws_rds_cluster_instance.writer], values(aws_rds_cluster_instance.readers)) :
      i.publicly_accessible == false && i.db_subnet_group_name == "subnet-group-aurora-dev" && i.db_parameter_group_name == "pg-aurora-instance-dev"
    ])
    error_message = "Instances must be private, in the module's subnet group and use its instance parameter group."
  }

  assert {
    condition     = aws_rds_cluster.this.backup_retention_period == 7 && aws_rds_cluster.this.copy_tags_to_snapshot == true
    error_message = "Backups must be kept 7 days by default and snapshots must carry the tags."
  }

  assert {
    condition     = aws_rds_cluster.this.tags["Name"] == "aurora-dev" && aws_rds_cluster.this.tags["Project"] == "trading"
    error_message = "Caller tags must be merged with a Name tag."
  }

  assert {
    condition     = output.cluster_instances["writer"].role == "writer" && output.cluster_instances["reader-2"].role == "reader" && length(output.cluster_instances) == 3
    error_message = "cluster_instances must list the writer and every reader with its role."
  }
}

run "encryption_secret_and_iam_auth" {
  command = plan

  assert {
    condition     = aws_rds_cluster.this.storage_encrypted == true && aws_rds_cluster.this.kms_key_id == var.kms_key_arn
    error_message = "Storage must be encrypted with the KMS key passed in."
  }

  assert {
    condition     = aws_rds_cluster.this.manage_master_user_password == true && aws_rds_cluster.this.master_user_secret_kms_key_id == var.kms_key_arn
    error_message = "The master password must be RDS-managed in Secrets Manager, encrypted with the KMS key."
  }

  assert {
    condition     = aws_rds_cluster.this.master_password == null
    error_message = "No master password may be set in configuration."
  }

  assert {
    condition     = aws_rds_cluster.this.iam_database_authentication_enabled == true
    error_message = "IAM database authentication must be on."
  }

  assert {
    condition = alltrue([
      for i in concat([aws_rds_cluster_instance.writer], values(aws_rds_cluster_instance.readers)) :
      i.performance_insights_enabled == true && i.performance_insights_kms_key_id == var.kms_key_arn && i.performance_insights_retention_period == 7
    ])
    error_message = "Performance Insights must be on for every instance, encrypted with the KMS key."
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.exports) == 3 && alltrue([for g in aws_cloudwatch_log_group.exports : g.kms_key_id == var.kms_key_arn && g.retention_in_days == 30])
    error_message = "Each exported log type needs a log group kept 30 days and encrypted with the KMS key."
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.exports["audit"].name == "/aws/rds/cluster/aurora-dev/audit" &&
      aws_cloudwatch_log_group.exports["error"].name == "/aws/rds/cluster/aurora-dev/error" &&
      aws_cloudwatch_log_group.exports["slowquery"].name == "/aws/rds/cluster/aurora-dev/slowquery"
    )
    error_message = "Log groups must use the names RDS exports to: /aws/rds/cluster/<cluster-id>/<type>."
  }

  assert {
    condition     = toset(aws_rds_cluster.this.enabled_cloudwatch_logs_exports) == toset(["audit", "error", "slowquery"])
    error_message = "audit, error and slowquery logs must be exported by default."
  }
}

run "network_parameters_and_monitoring" {
  command = plan

  variables {
    allowed_security_group_ids = {
      lambda  = "sg-0123456789abcdef0"
      bastion = "sg-0fedcba9876543210"
    }
  }

  assert {
    condition     = aws_security_group.cluster.tags["Name"] == "sg-aurora-dev" && aws_security_group.cluster.vpc_id == "vpc-0123456789abcdef0"
    error_message = "The security group must be named sg-aurora-<suffix> (Name tag) in the given VPC."
  }

  assert {
    condition     = aws_security_group.cluster.name == "security-group-aurora-dev"
    error_message = "The group name must be security-group-aurora-<suffix>: EC2 rejects group names starting with sg-."
  }

  assert {
    condition     = length(aws_security_group_rule.mysql_ingress) == 2
    error_message = "There must be one ingress rule per allowed security group."
  }

  assert {
    condition = alltrue([
      for r in aws_security_group_rule.mysql_ingress :
      r.type == "ingress" && r.protocol == "tcp" && r.from_port == 3306 && r.to_port == 3306 && r.cidr_blocks == null
    ])
    error_message = "Ingress must be TCP 3306 only, from security groups (no CIDR)."
  }

  assert {
    condition     = aws_security_group_rule.mysql_ingress["bastion"].source_security_group_id == "sg-0fedcba9876543210"
    error_message = "Rules must be keyed by the caller's static label."
  }

  assert {
    condition     = aws_db_subnet_group.cluster.name == "subnet-group-aurora-dev" && length(aws_db_subnet_group.cluster.subnet_ids) == 3
    error_message = "The DB subnet group must cover the given subnets."
  }

  assert {
    condition     = aws_rds_cluster_parameter_group.cluster.family == "aurora-mysql8.0" && aws_db_parameter_group.instances.family == "aurora-mysql8.0"
    error_message = "Both parameter groups must use the aurora-mysql8.0 family."
  }

  assert {
    condition = alltrue([
      contains(aws_rds_cluster_parameter_group.cluster.parameter, { name = "require_secure_transport", value = "ON", apply_method = "immediate" }),
      contains(aws_rds_cluster_parameter_group.cluster.parameter, { name = "character_set_server", value = "utf8mb4", apply_method = "immediate" }),
      contains(aws_rds_cluster_parameter_group.cluster.parameter, { name = "collation_server", value = "utf8mb4_0900_ai_ci", apply_method = "immediate" }),
      contains(aws_rds_cluster_parameter_group.cluster.parameter, { name = "server_audit_logging", value = "1", apply_method = "immediate" }),
    ])
    error_message = "The cluster parameter group must force TLS, use utf8mb4 and switch the audit log on."
  }

  assert {
    condition     = contains(aws_db_parameter_group.instances.parameter, { name = "slow_query_log", value = "1", apply_method = "immediate" })
    error_message = "The slow query log must be on when slowquery is exported."
  }

  assert {
    condition     = aws_iam_role.monitoring[0].name == "role-rds-monitoring-dev" && strcontains(aws_iam_role.monitoring[0].assume_role_policy, "monitoring.rds.amazonaws.com")
    error_message = "Enhanced Monitoring needs role-rds-monitoring-<suffix> trusted by monitoring.rds.amazonaws.com."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.monitoring[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    error_message = "The monitoring role must carry the AWS managed AmazonRDSEnhancedMonitoringRole policy."
  }

  assert {
    condition     = aws_rds_cluster_instance.writer.monitoring_interval == 60 && aws_rds_cluster_instance.readers["reader-1"].monitoring_interval == 60
    error_message = "Instances must sample Enhanced Monitoring every 60 s by default."
  }
}

run "caller_parameters_override_defaults_but_not_tls" {
  command = plan

  variables {
    cluster_parameters = {
      collation_server = { value = "utf8mb4_unicode_ci" }
      time_zone        = { value = "UTC", apply_method = "pending-reboot" }
    }
    enabled_cloudwatch_logs_exports = ["error"]
    monitoring_interval             = 0
  }

  assert {
    condition = alltrue([
      contains(aws_rds_cluster_parameter_group.cluster.parameter, { name = "collation_server", value = "utf8mb4_unicode_ci", apply_method = "immediate" }),
      contains(aws_rds_cluster_parameter_group.cluster.parameter, { name = "time_zone", value = "UTC", apply_method = "pending-reboot" }),
      contains(aws_rds_cluster_parameter_group.cluster.parameter, { name = "require_secure_transport", value = "ON", apply_method = "immediate" }),
    ])
    error_message = "Caller parameters must override the module's, while TLS stays required."
  }

  assert {
    condition     = length([for p in aws_rds_cluster_parameter_group.cluster.parameter : p if p.name == "server_audit_logging"]) == 0
    error_message = "The audit log must stay off when audit is not exported."
  }

  assert {
    condition     = length(aws_db_parameter_group.instances.parameter) == 0 && length(aws_cloudwatch_log_group.exports) == 1
    error_message = "Only the error log group is created, and no slow query settings, when only error is exported."
  }

  assert {
    condition     = length(aws_iam_role.monitoring) == 0 && aws_rds_cluster_instance.writer.monitoring_interval == 0 && output.enhanced_monitoring_iam_role_arn == null
    error_message = "monitoring_interval 0 must switch Enhanced Monitoring off without a role."
  }
}

run "no_readers" {
  command = plan

  variables {
    replica_count = 0
  }

  assert {
    condition     = length(aws_rds_cluster_instance.readers) == 0 && aws_rds_cluster_instance.writer.identifier == "aurora-writer-dev"
    error_message = "replica_count 0 must leave the writer alone."
  }

  assert {
    condition     = keys(output.cluster_instances) == ["writer"]
    error_message = "cluster_instances must hold only the writer."
  }
}

run "five_readers_round_robin_over_two_zones" {
  command = plan

  variables {
    environment_suffix = "prod"
    replica_count      = 5
    availability_zones = ["us-east-1a", "us-east-1b"]
    instance_class     = "db.r6g.large"
  }

  assert {
    condition     = length(aws_rds_cluster_instance.readers) == 5 && aws_rds_cluster_instance.readers["reader-5"].identifier == "aurora-reader-5-prod"
    error_message = "replica_count 5 must create aurora-reader-1-prod .. aurora-reader-5-prod."
  }

  assert {
    condition = (
      aws_rds_cluster_instance.readers["reader-1"].availability_zone == "us-east-1b" &&
      aws_rds_cluster_instance.readers["reader-2"].availability_zone == "us-east-1a" &&
      aws_rds_cluster_instance.readers["reader-5"].availability_zone == "us-east-1b"
    )
    error_message = "Readers must alternate between the zones."
  }

  assert {
    condition     = alltrue([for r in aws_rds_cluster_instance.readers : r.instance_class == "db.r6g.large"]) && aws_rds_cluster_instance.writer.instance_class == "db.r6g.large"
    error_message = "instance_class must apply to every instance."
  }
}
