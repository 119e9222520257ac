################################################################################
# CloudWatch Alarms
################################################################################

locals {
  create_cloudwatch_alarms = var.create_cloudwatch_alarms

  # Default max_connections of Aurora MySQL per instance class: AWS's table "Maximum connections to an Aurora MySQL
  # DB instance" (Aurora User Guide, AuroraMySQL.Managing.Performance), i.e. what the default parameter group's
  # formula GREATEST({log(DBInstanceClassMemory/805306368)*45},{log(DBInstanceClassMemory/8187281408)*1000})
  # yields for the class's memory. Other classes: pass cloudwatch_alarm_max_connections.
  default_max_connections = {
    "db.t3.medium"   = 90
    "db.t3.large"    = 135
    "db.t4g.medium"  = 90
    "db.t4g.large"   = 135
    "db.r5.large"    = 1000
    "db.r5.xlarge"   = 2000
    "db.r5.2xlarge"  = 3000
    "db.r5.4xlarge"  = 4000
    "db.r5.8xlarge"  = 5000
    "db.r5.12xlarge" = 6000
    "db.r5.16xlarge" = 6000
    "db.r5.24xlarge" = 7000
    "db.r6g.large"   = 1000
    "db.r6g.xlarge"  = 2000
  }

  # A number set through the parameter groups wins over the table; a formula there cannot be evaluated here.
  max_connections_parameter = try(var.instance_parameters["max_connections"].value, var.cluster_parameters["max_connections"].value, null)
  max_connections = (
    var.cloudwatch_alarm_max_connections != null ? var.cloudwatch_alarm_max_connections :
    local.max_connections_parameter != null ? try(tonumber(local.max_connections_parameter), null) :
    lookup(local.default_max_connections, var.instance_class, null)
  )

  thresholds = var.cloudwatch_alarm_thresholds
  evaluation = var.cloudwatch_alarm_evaluation
  window     = "${local.evaluation.datapoints_to_alarm} of the last ${local.evaluation.evaluation_periods} periods of ${local.evaluation.period}s"

  # AWS advises alarming on the WRITER/READER role metrics (dimensions DBClusterIdentifier + Role) rather than on
  # instances: a failover swaps the instances' roles, the role metrics follow it.
  alarm_roles = var.replica_count > 0 ? ["WRITER", "READER"] : ["WRITER"]

  cloudwatch_alarms = !local.create_cloudwatch_alarms ? {} : merge(
    {
      writer-cpu = {
        role        = "WRITER"
        metric_name = "CPUUtilization"
        statistic   = "Average"
        comparison  = "GreaterThanThreshold"
        threshold   = local.thresholds.cpu_utilization_percent
        description = "CPU of the writer of ${local.cluster_identifier} above ${local.thresholds.cpu_utilization_percent}% (average, ${local.window}): writes queue and slow down. First check: Performance Insights top SQL on the writer, then whether the request rate rose."
      }
    },
    {
      for role in local.alarm_roles : "${lower(role)}-connections" => {
        role        = role
        metric_name = "DatabaseConnections"
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = floor(coalesce(local.max_connections, 0) * local.thresholds.connections_percent / 100)
        description = "Connections to a ${lower(role)} of ${local.cluster_identifier} above ${local.thresholds.connections_percent}% of max_connections ${coalesce(local.max_connections, 0)} (maximum, ${local.window}): new connections will soon be refused (error 1040). First check: client concurrency (Lambda ConcurrentExecutions, reserved concurrency) and sleeping connections in the processlist."
      }
    },
    {
      for role in local.alarm_roles : "${lower(role)}-freeable-memory" => {
        role        = role
        metric_name = "FreeableMemory"
        statistic   = "Minimum"
        comparison  = "LessThanThreshold"
        threshold   = local.thresholds.freeable_memory_bytes
        description = "Freeable memory of a ${lower(role)} of ${local.cluster_identifier} below ${floor(local.thresholds.freeable_memory_bytes / 1048576)} MiB (minimum, ${local.window}): the instance may swap or restart. First check: connection count and per-connection buffers, then large temporary tables in Performance Insights."
      }
    },
    {
      for role in local.alarm_roles : "${lower(role)}-free-local-storage" => {
        role        = role
        metric_name = "FreeLocalStorage"
        statistic   = "Minimum"
        comparison  = "LessThanThreshold"
        threshold   = local.thresholds.free_local_storage_bytes
        description = "Free local storage of a ${lower(role)} of ${local.cluster_identifier} below ${floor(local.thresholds.free_local_storage_bytes / 1048576)} MiB (minimum, ${local.window}): temporary tables and logs fill the instance's local disk, queries will fail. First check: long-running queries with large sorts or temporary tables, and the size of the general/slow query logs."
      }
    },
    var.replica_count == 0 ? {} : {
      reader-replica-lag = {
        role        = "READER"
        metric_name = "AuroraReplicaLag"
        statistic   = "Maximum"
        comparison  = "GreaterThanThreshold"
        threshold   = local.thresholds.replica_lag_milliseconds
        description = "Replica lag of the readers of ${local.cluster_identifier} above ${local.thresholds.replica_lag_milliseconds} ms (maximum, ${local.window}): reads from the reader endpoint return stale data. First check: write volume on the writer and the readers' CPU; a reader that keeps lagging can be rebooted."
      }
    },
  )
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.cloudwatch_alarms

  alarm_name        = "alarm-aurora-${each.key}-${local.suffix}"
  alarm_description = each.value.description

  namespace   = "AWS/RDS"
  metric_name = each.value.metric_name
  dimensions = {
    DBClusterIdentifier = aws_rds_cluster.this.cluster_identifier
    Role                = each.value.role
  }
  statistic           = each.value.statistic
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold

  period              = local.evaluation.period
  evaluation_periods  = local.evaluation.evaluation_periods
  datapoints_to_alarm = local.evaluation.datapoints_to_alarm
  # A role that reports nothing (no instance in it for a while) is INSUFFICIENT_DATA, not a breach.
  treat_missing_data = "missing"

  actions_enabled = true
  alarm_actions   = var.cloudwatch_alarm_actions
  ok_actions      = var.cloudwatch_ok_actions

  tags = merge(var.tags, { Name = "alarm-aurora-${each.key}-${local.suffix}" })

  lifecycle {
    precondition {
      condition     = local.max_connections != null
      error_message = "Cannot tell max_connections for instance class ${var.instance_class}: set cloudwatch_alarm_max_connections (the class is not in the module's table, or max_connections is set to a formula)."
    }
  }
}
