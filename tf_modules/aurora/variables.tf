variable "environment_suffix" {
  description = "Suffix of every name this module creates, e.g. `dev`, `staging`, `prod` (cluster `aurora-<suffix>`): lowercase letters, digits and hyphens, no trailing or doubled hyphen."
  type        = string

  validation {
    condition     = length(var.environment_suffix) <= 21 && can(regex("^[a-z0-9]+(-[a-z0-9]+)*$", var.environment_suffix))
    error_message = "environment_suffix must be 1-21 lowercase letters or digits, words joined by single hyphens (^[a-z0-9]+(-[a-z0-9]+)*$): names such as the RDS identifier aurora-<suffix> reject a trailing or doubled hyphen."
  }
}

variable "tags" {
  description = "Tags merged into the tags of every resource this module creates (each also gets a `Name` tag)."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts the cluster storage, its snapshots, the RDS-managed master user secret, Performance Insights and the log groups (`arn:aws:kms:<region>:<account>:key/<id>`)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>), not a key id or alias."
  }
}

################################################################################
# Cluster
################################################################################

variable "engine_version" {
  description = "Aurora MySQL 3 (MySQL 8.0 compatible) engine version, shape `8.0.mysql_aurora.3.xx.y`; the default is the 3.10 long-term-support release, which offers `db.r5.large`."
  type        = string
  default     = "8.0.mysql_aurora.3.10.1"

  validation {
    condition     = can(regex("^8\\.0\\.mysql_aurora\\.3\\.[0-9]{2}\\.[0-9]+$", var.engine_version))
    error_message = "engine_version must be an Aurora MySQL 3 version of the form 8.0.mysql_aurora.3.xx.y (e.g. 8.0.mysql_aurora.3.10.1)."
  }
}

variable "database_name" {
  description = "Name of the database created in the new cluster (letters, digits and `_`, starting with a letter); fixed at creation, ignored when restoring from a snapshot."
  type        = string
  default     = "trading"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.database_name))
    error_message = "database_name must start with a letter and contain only letters, digits and underscores (at most 64 characters)."
  }
}

variable "master_username" {
  description = "Master user name (letters, digits and `_`, starting with a letter, at most 16 characters, not `rdsadmin`); its password is generated and rotated by RDS in Secrets Manager; fixed at creation."
  type        = string
  default     = "admin"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,15}$", var.master_username)) && lower(var.master_username) != "rdsadmin"
    error_message = "master_username must start with a letter, contain only letters, digits and underscores, be at most 16 characters and not be the reserved name rdsadmin."
  }
}

variable "backup_retention_period" {
  description = "Days to keep automated backups, `1` to `35`."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_period >= 1 && var.backup_retention_period <= 35 && floor(var.backup_retention_period) == var.backup_retention_period
    error_message = "backup_retention_period must be a whole number of days from 1 to 35."
  }
}

variable "preferred_backup_window" {
  description = "Daily UTC window for automated backups, `hh24:mi-hh24:mi`; must not overlap the maintenance window."
  type        = string
  default     = "03:00-04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.preferred_backup_window))
    error_message = "preferred_backup_window must look like 03:00-04:00 (UTC, hh24:mi-hh24:mi)."
  }
}

variable "preferred_maintenance_window" {
  description = "Weekly UTC maintenance window of the cluster and its instances, `ddd:hh24:mi-ddd:hh24:mi` with lowercase day names."
  type        = string
  default     = "sun:04:30-sun:05:30"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.preferred_maintenance_window))
    error_message = "preferred_maintenance_window must look like sun:04:30-sun:05:30 (UTC, lowercase day names)."
  }
}

variable "apply_immediately" {
  description = "Whether changes to the cluster and its instances apply at once (`true`) or in the next maintenance window (`false`)."
  type        = bool
  default     = false
}

variable "skip_final_snapshot" {
  description = "Whether destroying the cluster skips the final snapshot (`true` for disposable dev/staging data) or keeps one named `aurora-final-<suffix>-<YYYYMMDDhhmmss>` (`false`); a destroy uses the last applied value."
  type        = bool
  default     = false
}

variable "snapshot_identifier" {
  description = "Cluster snapshot name or ARN to restore the cluster from when it is created, or `null` for an empty cluster; later changes are ignored and never replace the cluster."
  type        = string
  default     = null

  validation {
    condition = var.snapshot_identifier == null ? true : can(regex(
      "^([A-Za-z][A-Za-z0-9-]{0,254}|arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:cluster-snapshot:[A-Za-z][A-Za-z0-9:-]{0,254})$",
      var.snapshot_identifier
    ))
    error_message = "snapshot_identifier must be null, a cluster snapshot name (letter first, then letters, digits, hyphens) or a cluster-snapshot ARN."
  }
}

################################################################################
# Cluster Instances
################################################################################

variable "instance_class" {
  description = "Instance class of the writer and of every reader, e.g. `db.r5.large` (provisioned classes only, not `db.serverless`)."
  type        = string
  default     = "db.r5.large"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "instance_class must be a provisioned RDS instance class such as db.r5.large."
  }
}

variable "replica_count" {
  description = "Number of reader instances next to the writer, `0` to `15`; they are named `aurora-reader-<n>-<suffix>`."
  type        = number
  default     = 2

  validation {
    condition     = var.replica_count >= 0 && var.replica_count <= 15 && floor(var.replica_count) == var.replica_count
    error_message = "replica_count must be a whole number from 0 to 15 (Aurora allows at most 15 readers)."
  }
}

variable "availability_zones" {
  description = "Distinct availability zones (at least 2, e.g. `us-east-1a`) covered by `subnet_ids`: the writer goes to the first, reader `n` to zone `n` modulo the list length."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must list at least 2 distinct zones."
  }

  validation {
    condition     = alltrue([for az in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$", az))])
    error_message = "Each availability zone must be a zone name such as us-east-1a."
  }
}

variable "auto_minor_version_upgrade" {
  description = "Whether RDS applies minor engine upgrades to the instances in the maintenance window; `false` by default because AWS advises against it on LTS versions and it makes the pinned `engine_version` drift."
  type        = bool
  default     = false
}

variable "performance_insights_retention_period" {
  description = "Days Performance Insights keeps data: `7` (free tier), a multiple of `31` up to `713`, or `731`."
  type        = number
  default     = 7

  validation {
    condition = (
      var.performance_insights_retention_period == 7 ||
      var.performance_insights_retention_period == 731 ||
      (var.performance_insights_retention_period >= 31 && var.performance_insights_retention_period <= 713 && var.performance_insights_retention_period % 31 == 0)
    )
    error_message = "performance_insights_retention_period must be 7, a multiple of 31 up to 713, or 731."
  }
}

################################################################################
# Security Group
################################################################################

variable "vpc_id" {
  description = "ID of the VPC that holds `subnet_ids` (`vpc-...`); the security group (Name tag `sg-aurora-<suffix>`, group name `security-group-aurora-<suffix>`) is created in it."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as vpc-0123456789abcdef0."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to reach MySQL (TCP 3306), keyed by a static label known at plan time, e.g. `{ lambda = \"sg-...\" }`; nothing else gets in."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for label in keys(var.allowed_security_group_ids) : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", label))])
    error_message = "allowed_security_group_ids keys must be short static labels: lowercase letters, digits, '_' or '-'."
  }

  validation {
    condition     = alltrue([for id in values(var.allowed_security_group_ids) : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "allowed_security_group_ids values must be security group ids such as sg-0123456789abcdef0."
  }
}

################################################################################
# DB Subnet Group
################################################################################

variable "subnet_ids" {
  description = "Private subnet IDs (at least 2, in different availability zones) for the DB subnet group `subnet-group-aurora-<suffix>`."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must list at least 2 distinct subnets (RDS needs two availability zones)."
  }

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "subnet_ids must contain subnet ids such as subnet-0123456789abcdef0."
  }
}

################################################################################
# Parameter Groups
################################################################################

variable "cluster_parameters" {
  description = "Extra or overriding DB cluster parameters (family `aurora-mysql8.0`) keyed by parameter name, each with a `value` and an `apply_method` of `immediate` (default) or `pending-reboot`; `require_secure_transport` is always `ON` and cannot be set here."
  type = map(object({
    value        = string
    apply_method = optional(string, "immediate")
  }))
  default = {}

  validation {
    condition     = !contains([for name in keys(var.cluster_parameters) : lower(name)], "require_secure_transport")
    error_message = "cluster_parameters cannot set require_secure_transport: the module enforces TLS (ON)."
  }

  validation {
    condition     = alltrue([for p in values(var.cluster_parameters) : contains(["immediate", "pending-reboot"], p.apply_method)])
    error_message = "cluster_parameters apply_method must be immediate or pending-reboot."
  }
}

variable "instance_parameters" {
  description = "Extra or overriding DB instance parameters (family `aurora-mysql8.0`) keyed by parameter name, each with a `value` and an `apply_method` of `immediate` (default) or `pending-reboot`."
  type = map(object({
    value        = string
    apply_method = optional(string, "immediate")
  }))
  default = {}

  validation {
    condition     = alltrue([for p in values(var.instance_parameters) : contains(["immediate", "pending-reboot"], p.apply_method)])
    error_message = "instance_parameters apply_method must be immediate or pending-reboot."
  }
}

################################################################################
# CloudWatch Log Groups
################################################################################

variable "enabled_cloudwatch_logs_exports" {
  description = "Aurora MySQL logs exported to CloudWatch Logs, any of `audit`, `error`, `general`, `slowquery`, `iam-db-auth-error`; the module creates `/aws/rds/cluster/aurora-<suffix>/<type>` for each."
  type        = list(string)
  default     = ["audit", "error", "slowquery"]

  validation {
    condition     = alltrue([for t in var.enabled_cloudwatch_logs_exports : contains(["audit", "error", "general", "slowquery", "iam-db-auth-error"], t)])
    error_message = "enabled_cloudwatch_logs_exports may only contain audit, error, general, slowquery and iam-db-auth-error."
  }

  validation {
    condition     = length(distinct(var.enabled_cloudwatch_logs_exports)) == length(var.enabled_cloudwatch_logs_exports)
    error_message = "enabled_cloudwatch_logs_exports must not repeat a log type."
  }
}

variable "cloudwatch_log_group_retention_in_days" {
  description = "Days the exported log groups keep events, one of the CloudWatch Logs values (`1`, `3`, `5`, `7`, `14`, `30`, `60`, `90`, ... `3653`)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_log_group_retention_in_days)
    error_message = "cloudwatch_log_group_retention_in_days must be a CloudWatch Logs retention value: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

################################################################################
# Enhanced Monitoring
################################################################################

variable "monitoring_interval" {
  description = "Seconds between Enhanced Monitoring samples: `0` (off, no IAM role), `1`, `5`, `10`, `15`, `30` or `60`."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.monitoring_interval)
    error_message = "monitoring_interval must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

################################################################################
# CloudWatch Alarms
################################################################################

variable "create_cloudwatch_alarms" {
  description = "Whether to create CloudWatch alarms on the cluster's WRITER/READER role metrics (`alarm-aurora-<what>-<suffix>`): writer CPU, connections against max_connections, freeable memory and free local storage per role, and the readers' replica lag."
  type        = bool
  default     = false
}

variable "cloudwatch_alarm_actions" {
  description = "ARNs notified when an alarm goes to ALARM, typically one SNS topic (`arn:aws:sns:<region>:<account>:<name>`)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.cloudwatch_alarm_actions : can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:.+$", arn))])
    error_message = "cloudwatch_alarm_actions must contain ARNs such as arn:aws:sns:us-east-1:123456789012:alerts."
  }
}

variable "cloudwatch_ok_actions" {
  description = "ARNs notified when an alarm returns to OK, typically the same SNS topic as `cloudwatch_alarm_actions`."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.cloudwatch_ok_actions : can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:.+$", arn))])
    error_message = "cloudwatch_ok_actions must contain ARNs such as arn:aws:sns:us-east-1:123456789012:alerts."
  }
}

variable "cloudwatch_alarm_thresholds" {
  description = "Alarm thresholds: `cpu_utilization_percent` (writer, average), `connections_percent` of max_connections (maximum per role), `freeable_memory_bytes` and `free_local_storage_bytes` (minimum per role), `replica_lag_milliseconds` (maximum over the readers)."
  type = object({
    cpu_utilization_percent  = optional(number, 80)
    connections_percent      = optional(number, 80)
    freeable_memory_bytes    = optional(number, 1073741824)
    free_local_storage_bytes = optional(number, 3221225472)
    replica_lag_milliseconds = optional(number, 1000)
  })
  default = {}

  validation {
    condition = (
      var.cloudwatch_alarm_thresholds.cpu_utilization_percent > 0 && var.cloudwatch_alarm_thresholds.cpu_utilization_percent <= 100 &&
      var.cloudwatch_alarm_thresholds.connections_percent > 0 && var.cloudwatch_alarm_thresholds.connections_percent <= 100
    )
    error_message = "cloudwatch_alarm_thresholds cpu_utilization_percent and connections_percent must be percentages above 0 and at most 100."
  }

  validation {
    condition = (
      var.cloudwatch_alarm_thresholds.freeable_memory_bytes > 0 &&
      var.cloudwatch_alarm_thresholds.free_local_storage_bytes > 0 &&
      var.cloudwatch_alarm_thresholds.replica_lag_milliseconds > 0
    )
    error_message = "cloudwatch_alarm_thresholds freeable_memory_bytes, free_local_storage_bytes and replica_lag_milliseconds must be above 0."
  }
}

variable "cloudwatch_alarm_evaluation" {
  description = "How every alarm evaluates: it goes to ALARM when `datapoints_to_alarm` of the last `evaluation_periods` periods of `period` seconds (`10`, `30` or a multiple of `60`) breach."
  type = object({
    period              = optional(number, 60)
    evaluation_periods  = optional(number, 5)
    datapoints_to_alarm = optional(number, 3)
  })
  default = {}

  validation {
    condition     = contains([10, 30], var.cloudwatch_alarm_evaluation.period) || (var.cloudwatch_alarm_evaluation.period >= 60 && var.cloudwatch_alarm_evaluation.period % 60 == 0)
    error_message = "cloudwatch_alarm_evaluation period must be 10, 30 or a multiple of 60 seconds."
  }

  validation {
    condition = (
      var.cloudwatch_alarm_evaluation.evaluation_periods >= 1 &&
      var.cloudwatch_alarm_evaluation.datapoints_to_alarm >= 1 &&
      var.cloudwatch_alarm_evaluation.datapoints_to_alarm <= var.cloudwatch_alarm_evaluation.evaluation_periods
    )
    error_message = "cloudwatch_alarm_evaluation needs evaluation_periods >= 1 and 1 <= datapoints_to_alarm <= evaluation_periods."
  }
}

variable "cloudwatch_alarm_max_connections" {
  description = "max_connections the connections alarms compare against, `1` to `16000`; `null` (default) uses a number set as `max_connections` in `instance_parameters`/`cluster_parameters`, else AWS's default for `instance_class` (e.g. `1000` for `db.r5.large`)."
  type        = number
  default     = null

  validation {
    condition     = var.cloudwatch_alarm_max_connections == null ? true : (var.cloudwatch_alarm_max_connections >= 1 && var.cloudwatch_alarm_max_connections <= 16000 && floor(var.cloudwatch_alarm_max_connections) == var.cloudwatch_alarm_max_connections)
    error_message = "cloudwatch_alarm_max_connections must be null or a whole number from 1 to 16000 (Aurora MySQL's maximum)."
  }
}
