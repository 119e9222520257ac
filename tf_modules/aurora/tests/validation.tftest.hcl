# Every constrained input must reject bad values at plan time, before anything reaches AWS.

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
  subnet_ids         = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
  availability_zones = ["us-east-1a", "us-east-1b"]
}

run "valid_baseline_plans" {
  command = plan

  assert {
    condition     = aws_rds_cluster.this.cluster_identifier == "aurora-dev"
    error_message = "The shared baseline inputs must be valid."
  }
}

run "rejects_uppercase_suffix" {
  command = plan
  variables {
    environment_suffix = "Dev"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_suffix_longer_than_21" {
  command = plan
  variables {
    environment_suffix = "abcdefghijklmnopqrstuv"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_suffix_with_trailing_hyphen" {
  command = plan
  variables {
    environment_suffix = "dev-"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_suffix_with_double_hyphen" {
  command = plan
  variables {
    environment_suffix = "pr--1"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_kms_alias" {
  command = plan
  variables {
    kms_key_arn = "alias/aurora"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_aurora_mysql_2" {
  command = plan
  variables {
    engine_version = "5.7.mysql_aurora.2.12.5"
  }
  expect_failures = [var.engine_version]
}

run "rejects_bare_major_version" {
  command = plan
  variables {
    engine_version = "8.0"
  }
  expect_failures = [var.engine_version]
}

run "rejects_reserved_master_username" {
  command = plan
  variables {
    master_username = "rdsadmin"
  }
  expect_failures = [var.master_username]
}

run "rejects_bad_database_name" {
  command = plan
  variables {
    database_name = "1trading"
  }
  expect_failures = [var.database_name]
}

run "rejects_zero_backup_retention" {
  command = plan
  variables {
    backup_retention_period = 0
  }
  expect_failures = [var.backup_retention_period]
}

run "rejects_backup_retention_over_35" {
  command = plan
  variables {
    backup_retention_period = 36
  }
  expect_failures = [var.backup_retention_period]
}

run "rejects_bad_backup_window" {
  command = plan
  variables {
    preferred_backup_window = "3:00-4:00"
  }
  expect_failures = [var.preferred_backup_window]
}

run "rejects_bad_maintenance_window" {
  command = plan
  variables {
    preferred_maintenance_window = "Sunday:04:30-Sunday:05:30"
  }
  expect_failures = [var.preferred_maintenance_window]
}

run "rejects_bad_snapshot_identifier" {
  command = plan
  variables {
    snapshot_identifier = "rds:aurora-dev-2025-01-01-00-00"
  }
  expect_failures = [var.snapshot_identifier]
}

run "accepts_cluster_snapshot_arn" {
  command = plan
  variables {
    snapshot_identifier = "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:aurora-final-prod-20250101120000"
  }
  assert {
    condition     = aws_rds_cluster.this.snapshot_identifier == "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:aurora-final-prod-20250101120000"
    error_message = "A shared cluster snapshot ARN must be accepted and passed through."
  }
}

run "rejects_serverless_instance_class" {
  command = plan
  variables {
    instance_class = "db.serverless"
  }
  expect_failures = [var.instance_class]
}

run "rejects_16_readers" {
  command = plan
  variables {
    replica_count = 16
  }
  expect_failures = [var.replica_count]
}

run "rejects_negative_readers" {
  command = plan
  variables {
    replica_count = -1
  }
  expect_failures = [var.replica_count]
}

run "rejects_fractional_readers" {
  command = plan
  variables {
    replica_count = 1.5
  }
  expect_failures = [var.replica_count]
}

run "rejects_single_availability_zone" {
  command = plan
  variables {
    availability_zones = ["us-east-1a"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_repeated_availability_zone" {
  command = plan
  variables {
    availability_zones = ["us-east-1a", "us-east-1a"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_region_as_availability_zone" {
  command = plan
  variables {
    availability_zones = ["us-east-1", "us-east-1b"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_bad_performance_insights_retention" {
  command = plan
  variables {
    performance_insights_retention_period = 30
  }
  expect_failures = [var.performance_insights_retention_period]
}

run "rejects_bad_vpc_id" {
  command = plan
  variables {
    vpc_id = "subnet-0aaaaaaaaaaaaaaaa"
  }
  expect_failures = [var.vpc_id]
}

run "rejects_cidr_as_allowed_security_group" {
  command = plan
  variables {
    allowed_security_group_ids = {
      lambda = "10.0.0.0/16"
    }
  }
  expect_failures = [var.allowed_security_group_ids]
}

run "rejects_bad_allowed_security_group_label" {
  command = plan
  variables {
    allowed_security_group_ids = {
      "Lambda SG" = "sg-0123456789abcdef0"
    }
  }
  expect_failures = [var.allowed_security_group_ids]
}

run "rejects_single_subnet" {
  command = plan
  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa"]
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_non_subnet_id" {
  command = plan
  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"]
  }
  expect_failures = [var.subnet_ids]
}

run "rejects_disabling_tls" {
  command = plan
  variables {
    cluster_parameters = {
      require_secure_transport = { value = "OFF" }
    }
  }
  expect_failures = [var.cluster_parameters]
}

run "rejects_bad_cluster_apply_method" {
  command = plan
  variables {
    cluster_parameters = {
      time_zone = { value = "UTC", apply_method = "later" }
    }
  }
  expect_failures = [var.cluster_parameters]
}

run "rejects_bad_instance_apply_method" {
  command = plan
  variables {
    instance_parameters = {
      long_query_time = { value = "2", apply_method = "now" }
    }
  }
  expect_failures = [var.instance_parameters]
}

run "rejects_unknown_log_export" {
  command = plan
  variables {
    enabled_cloudwatch_logs_exports = ["audit", "postgresql"]
  }
  expect_failures = [var.enabled_cloudwatch_logs_exports]
}

run "rejects_repeated_log_export" {
  command = plan
  variables {
    enabled_cloudwatch_logs_exports = ["error", "error"]
  }
  expect_failures = [var.enabled_cloudwatch_logs_exports]
}

run "rejects_unsupported_log_retention" {
  command = plan
  variables {
    cloudwatch_log_group_retention_in_days = 31
  }
  expect_failures = [var.cloudwatch_log_group_retention_in_days]
}

run "rejects_bad_monitoring_interval" {
  command = plan
  variables {
    monitoring_interval = 2
  }
  expect_failures = [var.monitoring_interval]
}
