data "aws_partition" "current" {}

locals {
  suffix             = var.environment_suffix
  cluster_identifier = "aurora-${local.suffix}"
  port               = 3306
  family             = "aurora-mysql8.0"

  # Readers keyed reader-1..reader-N: the key is part of the identifier, so lowering replica_count removes only
  # the highest-numbered readers. The writer sits in the first zone, reader n in zone n (round robin).
  readers = {
    for n in range(1, var.replica_count + 1) : "reader-${n}" => {
      identifier        = "aurora-reader-${n}-${local.suffix}"
      availability_zone = var.availability_zones[n % length(var.availability_zones)]
    }
  }

  final_snapshot_identifier = "aurora-final-${local.suffix}-${formatdate("YYYYMMDDhhmmss", terraform_data.cluster_created_at.output)}"

  # Module settings first, caller overrides next, enforced settings last (they always win).
  cluster_parameters = merge(
    {
      character_set_server = { value = "utf8mb4", apply_method = "immediate" }
      collation_server     = { value = "utf8mb4_0900_ai_ci", apply_method = "immediate" }
    },
    contains(var.enabled_cloudwatch_logs_exports, "audit") ? {
      # Advanced Auditing writes the audit log only when switched on; DML is left out to keep the volume sane.
      server_audit_logging = { value = "1", apply_method = "immediate" }
      server_audit_events  = { value = "CONNECT,QUERY_DCL,QUERY_DDL", apply_method = "immediate" }
    } : {},
    var.cluster_parameters,
    {
      require_secure_transport = { value = "ON", apply_method = "immediate" }
    },
  )

  instance_parameters = merge(
    contains(var.enabled_cloudwatch_logs_exports, "slowquery") ? {
      # The slow query log is off by default; without it the slowquery export stays empty.
      slow_query_log  = { value = "1", apply_method = "immediate" }
      long_query_time = { value = "1", apply_method = "immediate" }
    } : {},
    contains(var.enabled_cloudwatch_logs_exports, "general") ? {
      general_log = { value = "1", apply_method = "immediate" }
    } : {},
    length(setintersection(var.enabled_cloudwatch_logs_exports, ["slowquery", "general"])) > 0 ? {
      log_output = { value = "FILE", apply_method = "immediate" }
    } : {},
    var.instance_parameters,
  )
}

################################################################################
# Cluster
################################################################################

# Records when this cluster's lifetime began so the final snapshot name is unique per lifetime:
# destroy -> recreate -> destroy yields two different snapshot names instead of a SnapshotAlreadyExists error.
resource "terraform_data" "cluster_created_at" {
  input = plantimestamp()

  # A new cluster (new identifier or key, the arguments that force a replacement) starts a new lifetime.
  triggers_replace = {
    cluster_identifier = local.cluster_identifier
    kms_key_arn        = var.kms_key_arn
  }

  lifecycle {
    # plantimestamp() changes on every plan; keep the value recorded at creation so the name stays stable.
    ignore_changes = [input]
  }
}

resource "aws_rds_cluster" "this" {
  cluster_identifier = local.cluster_identifier
  engine             = "aurora-mysql"
  engine_mode        = "provisioned"
  engine_version     = var.engine_version
  database_name      = var.database_name
  master_username    = var.master_username
  port               = local.port

  # No password anywhere: RDS generates it, stores it in Secrets Manager under our key and rotates it.
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_arn
  iam_database_authentication_enabled = true

  storage_encrypted = true
  kms_key_id        = var.kms_key_arn

  db_subnet_group_name            = aws_db_subnet_group.cluster.name
  vpc_security_group_ids          = [aws_security_group.cluster.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.cluster.name

  backup_retention_period      = var.backup_retention_period
  preferred_backup_window      = var.preferred_backup_window
  preferred_maintenance_window = var.preferred_maintenance_window
  copy_tags_to_snapshot        = true
  apply_immediately            = var.apply_immediately

  enabled_cloudwatch_logs_exports = var.enabled_cloudwatch_logs_exports

  # Destroyable by design: never deletion-protected; data survives a destroy through the final snapshot.
  deletion_protection       = false
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : local.final_snapshot_identifier
  delete_automated_backups  = true

  snapshot_identifier = var.snapshot_identifier

  tags = merge(var.tags, { Name = local.cluster_identifier })

  lifecycle {
    ignore_changes = [
      # Only read when the cluster is created; the provider marks it ForceNew, so a later different value
      # (or a snapshot name rotated by the caller) would otherwise destroy the cluster and its data.
      snapshot_identifier,
      # Both are fixed at creation (ForceNew). A cluster restored from a snapshot takes them from the snapshot
      # (RestoreDBClusterFromSnapshot has no MasterUsername), so a mismatch must not replace the restored cluster.
      master_username,
      database_name,
    ]
  }

  # Log groups exist, with our retention and key, before RDS starts exporting (it would create them otherwise).
  depends_on = [aws_cloudwatch_log_group.exports]
}

################################################################################
# Cluster Instances
################################################################################

resource "aws_rds_cluster_instance" "writer" {
  identifier         = "aurora-writer-${local.suffix}"
  cluster_identifier = aws_rds_cluster.this.id
  engine             = aws_rds_cluster.this.engine
  instance_class     = var.instance_class
  availability_zone  = var.availability_zones[0]
  promotion_tier     = 0

  db_subnet_group_name    = aws_db_subnet_group.cluster.name
  db_parameter_group_name = aws_db_parameter_group.instances.name
  publicly_accessible     = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_period

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = try(aws_iam_role.monitoring[0].arn, null)

  auto_minor_version_upgrade   = var.auto_minor_version_upgrade
  preferred_maintenance_window = var.preferred_maintenance_window
  copy_tags_to_snapshot        = true
  apply_immediately            = var.apply_immediately

  tags = merge(var.tags, { Name = "aurora-writer-${local.suffix}" })

  # RDS checks the monitoring role's permissions when the instance is created.
  depends_on = [aws_iam_role_policy_attachment.monitoring]
}

resource "aws_rds_cluster_instance" "readers" {
  for_each = local.readers

  identifier         = each.value.identifier
  cluster_identifier = aws_rds_cluster.this.id
  engine             = aws_rds_cluster.this.engine
  instance_class     = var.instance_class
  availability_zone  = each.value.availability_zone
  promotion_tier     = 1

  db_subnet_group_name    = aws_db_subnet_group.cluster.name
  db_parameter_group_name = aws_db_parameter_group.instances.name
  publicly_accessible     = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = var.performance_insights_retention_period

  monitoring_interval = var.monitoring_interval
  monitoring_role_arn = try(aws_iam_role.monitoring[0].arn, null)

  auto_minor_version_upgrade   = var.auto_minor_version_upgrade
  preferred_maintenance_window = var.preferred_maintenance_window
  copy_tags_to_snapshot        = true
  apply_immediately            = var.apply_immediately

  tags = merge(var.tags, { Name = each.value.identifier })

  # The first instance created in an Aurora cluster becomes the writer: create the readers after it.
  depends_on = [aws_rds_cluster_instance.writer, aws_iam_role_policy_attachment.monitoring]
}

################################################################################
# Security Group
################################################################################

resource "aws_security_group" "cluster" {
  # EC2 rejects group names starting with "sg-" (reserved for group ids), so the project name
  # sg-aurora-<suffix> is the Name tag (what the console lists) and the group name spells the type out.
  name        = "security-group-aurora-${local.suffix}"
  description = "Aurora MySQL cluster ${local.cluster_identifier}: MySQL 3306 from allowed security groups only"
  vpc_id      = var.vpc_id

  # No egress block: the provider removes AWS's default allow-all egress rule when it creates the group,
  # and the cluster never opens connections of its own (replies to clients are allowed by connection state).

  tags = merge(var.tags, { Name = "sg-aurora-${local.suffix}" })
}

resource "aws_security_group_rule" "mysql_ingress" {
  for_each = var.allowed_security_group_ids

  type                     = "ingress"
  description              = "MySQL from ${each.key}"
  security_group_id        = aws_security_group.cluster.id
  protocol                 = "tcp"
  from_port                = local.port
  to_port                  = local.port
  source_security_group_id = each.value
}

################################################################################
# DB Subnet Group
################################################################################

resource "aws_db_subnet_group" "cluster" {
  name        = "subnet-group-aurora-${local.suffix}"
  description = "Subnets of Aurora MySQL cluster ${local.cluster_identifier}"
  subnet_ids  = var.subnet_ids

  tags = merge(var.tags, { Name = "subnet-group-aurora-${local.suffix}" })
}

################################################################################
# Parameter Groups
################################################################################

resource "aws_rds_cluster_parameter_group" "cluster" {
  name        = "pg-aurora-cluster-${local.suffix}"
  family      = local.family
  description = "Cluster parameters of ${local.cluster_identifier}: utf8mb4, TLS required, audit log"

  dynamic "parameter" {
    for_each = local.cluster_parameters

    content {
      name         = parameter.key
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = merge(var.tags, { Name = "pg-aurora-cluster-${local.suffix}" })
}

resource "aws_db_parameter_group" "instances" {
  name        = "pg-aurora-instance-${local.suffix}"
  family      = local.family
  description = "Instance parameters of ${local.cluster_identifier}: slow query log"

  dynamic "parameter" {
    for_each = local.instance_parameters

    content {
      name         = parameter.key
      value        = parameter.value.value
      apply_method = parameter.value.apply_method
    }
  }

  tags = merge(var.tags, { Name = "pg-aurora-instance-${local.suffix}" })
}

################################################################################
# CloudWatch Log Groups
################################################################################

resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(var.enabled_cloudwatch_logs_exports)

  name              = "/aws/rds/cluster/${local.cluster_identifier}/${each.key}"
  retention_in_days = var.cloudwatch_log_group_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = "/aws/rds/cluster/${local.cluster_identifier}/${each.key}" })
}

################################################################################
# Enhanced Monitoring
################################################################################

resource "aws_iam_role" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  name        = "role-rds-monitoring-${local.suffix}"
  description = "Lets RDS publish Enhanced Monitoring metrics of ${local.cluster_identifier}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
    }]
  })

  tags = merge(var.tags, { Name = "role-rds-monitoring-${local.suffix}" })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
