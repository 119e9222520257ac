# The optional CloudWatch alarms (alarms.tf): off by default, role-based, thresholds from the inputs, every alarm
# notifying the given actions on ALARM and OK. Offline: the AWS provider is mocked.

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

run "no_alarms_by_default" {
  command = plan

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0
    error_message = "Alarms are opt-in (create_cloudwatch_alarms = false by default)."
  }

  assert {
    condition     = output.cloudwatch_alarm_names == {} && output.cloudwatch_alarm_max_connections == null
    error_message = "Disabled alarms must yield empty outputs."
  }
}

run "writer_and_reader_alarms_on_role_metrics" {
  command = plan

  variables {
    create_cloudwatch_alarms = true
    cloudwatch_alarm_actions = ["arn:aws:sns:us-east-1:123456789012:alerts-dev"]
    cloudwatch_ok_actions    = ["arn:aws:sns:us-east-1:123456789012:alerts-dev"]
  }

  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset([
      "writer-cpu", "writer-connections", "reader-connections", "writer-freeable-memory", "reader-freeable-memory",
      "writer-free-local-storage", "reader-free-local-storage", "reader-replica-lag",
    ])
    error_message = "With readers, the module must alarm on writer CPU, connections/memory/local storage per role and replica lag."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["writer-cpu"].alarm_name == "alarm-aurora-writer-cpu-dev"
    error_message = "Alarms must be named alarm-aurora-<what>-<suffix>."
  }

  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      a.namespace == "AWS/RDS" && a.dimensions["DBClusterIdentifier"] == "aurora-dev" && contains(["WRITER", "READER"], a.dimensions["Role"])
    ])
    error_message = "Every alarm must watch a role metric (DBClusterIdentifier + Role) of this cluster, so failovers do not blind it."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["writer-cpu"].dimensions["Role"] == "WRITER" &&
      aws_cloudwatch_metric_alarm.this["reader-replica-lag"].dimensions["Role"] == "READER" &&
      aws_cloudwatch_metric_alarm.this["reader-replica-lag"].metric_name == "AuroraReplicaLag"
    )
    error_message = "CPU is watched on the writer, replica lag on the readers."
  }

  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      a.actions_enabled && a.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:alerts-dev"]) && a.ok_actions == toset(["arn:aws:sns:us-east-1:123456789012:alerts-dev"])
    ])
    error_message = "Every alarm must notify the given actions on ALARM and on OK."
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : length(a.alarm_description) > 80 && strcontains(a.alarm_description, "First check:")])
    error_message = "Every alarm must say what it means and what to check first."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["writer-cpu"].threshold == 80 &&
      aws_cloudwatch_metric_alarm.this["writer-freeable-memory"].threshold == 1073741824 &&
      aws_cloudwatch_metric_alarm.this["reader-free-local-storage"].threshold == 3221225472 &&
      aws_cloudwatch_metric_alarm.this["reader-replica-lag"].threshold == 1000
    )
    error_message = "Default thresholds: CPU 80 %, 1 GiB freeable memory, 3 GiB free local storage, 1000 ms replica lag."
  }

  assert {
    condition     = output.cloudwatch_alarm_max_connections == 1000 && aws_cloudwatch_metric_alarm.this["writer-connections"].threshold == 800
    error_message = "db.r5.large allows 1000 connections (AWS's table); the default alarm is at 80 %, 800."
  }

  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.this :
      a.period == 60 && a.evaluation_periods == 5 && a.datapoints_to_alarm == 3 && a.treat_missing_data == "missing"
    ])
    error_message = "Default evaluation: 3 of the last 5 one-minute periods."
  }

  assert {
    condition     = output.cloudwatch_alarm_names["reader-replica-lag"] == "alarm-aurora-reader-replica-lag-dev" && length(output.cloudwatch_alarm_arns) == 8
    error_message = "Outputs must name every alarm by key."
  }
}

run "thresholds_and_evaluation_from_the_inputs" {
  command = plan

  variables {
    create_cloudwatch_alarms = true
    cloudwatch_alarm_thresholds = {
      cpu_utilization_percent  = 70
      connections_percent      = 50
      freeable_memory_bytes    = 2147483648
      free_local_storage_bytes = 1073741824
      replica_lag_milliseconds = 250
    }
    cloudwatch_alarm_evaluation = {
      period              = 300
      evaluation_periods  = 2
      datapoints_to_alarm = 2
    }
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["writer-cpu"].threshold == 70 &&
      aws_cloudwatch_metric_alarm.this["reader-connections"].threshold == 500 &&
      aws_cloudwatch_metric_alarm.this["reader-freeable-memory"].threshold == 2147483648 &&
      aws_cloudwatch_metric_alarm.this["writer-free-local-storage"].threshold == 1073741824 &&
      aws_cloudwatch_metric_alarm.this["reader-replica-lag"].threshold == 250
    )
    error_message = "Thresholds must come from cloudwatch_alarm_thresholds."
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.period == 300 && a.evaluation_periods == 2 && a.datapoints_to_alarm == 2])
    error_message = "Evaluation must come from cloudwatch_alarm_evaluation."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 8 && length(aws_cloudwatch_metric_alarm.this["writer-cpu"].alarm_actions) == 0
    error_message = "Alarms without actions are allowed (dashboard-only use)."
  }
}

run "no_reader_alarms_without_readers" {
  command = plan

  variables {
    create_cloudwatch_alarms = true
    replica_count            = 0
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset(["writer-cpu", "writer-connections", "writer-freeable-memory", "writer-free-local-storage"])
    error_message = "A cluster without readers gets no reader or replica-lag alarms."
  }
}

run "max_connections_from_a_parameter_or_the_override" {
  command = plan

  variables {
    create_cloudwatch_alarms = true
    instance_parameters = {
      max_connections = { value = "2000" }
    }
  }

  assert {
    condition     = output.cloudwatch_alarm_max_connections == 2000 && aws_cloudwatch_metric_alarm.this["writer-connections"].threshold == 1600
    error_message = "A numeric max_connections parameter must win over the class table."
  }
}

run "max_connections_override_wins" {
  command = plan

  variables {
    create_cloudwatch_alarms         = true
    instance_class                   = "db.x2g.large"
    cloudwatch_alarm_max_connections = 3000
  }

  assert {
    condition     = output.cloudwatch_alarm_max_connections == 3000 && aws_cloudwatch_metric_alarm.this["reader-connections"].threshold == 2400
    error_message = "cloudwatch_alarm_max_connections must win."
  }
}

run "unknown_max_connections_is_refused" {
  command = plan

  variables {
    create_cloudwatch_alarms = true
    instance_class           = "db.x2g.large"
  }

  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "a_formula_in_the_parameter_group_needs_the_override" {
  command = plan

  variables {
    create_cloudwatch_alarms = true
    cluster_parameters = {
      max_connections = { value = "{DBInstanceClassMemory/12582880}" }
    }
  }

  expect_failures = [aws_cloudwatch_metric_alarm.this]
}

run "rejects_a_percentage_above_100" {
  command = plan

  variables {
    cloudwatch_alarm_thresholds = { connections_percent = 120 }
  }

  expect_failures = [var.cloudwatch_alarm_thresholds]
}

run "rejects_a_zero_threshold" {
  command = plan

  variables {
    cloudwatch_alarm_thresholds = { replica_lag_milliseconds = 0 }
  }

  expect_failures = [var.cloudwatch_alarm_thresholds]
}

run "rejects_more_datapoints_than_periods" {
  command = plan

  variables {
    cloudwatch_alarm_evaluation = { evaluation_periods = 2, datapoints_to_alarm = 3 }
  }

  expect_failures = [var.cloudwatch_alarm_evaluation]
}

run "rejects_an_odd_period" {
  command = plan

  variables {
    cloudwatch_alarm_evaluation = { period = 45 }
  }

  expect_failures = [var.cloudwatch_alarm_evaluation]
}

run "rejects_actions_that_are_not_arns" {
  command = plan

  variables {
    cloudwatch_alarm_actions = ["alerts-dev"]
    cloudwatch_ok_actions    = ["mailto:ops@example.com"]
  }

  expect_failures = [var.cloudwatch_alarm_actions, var.cloudwatch_ok_actions]
}

run "rejects_max_connections_above_the_aurora_limit" {
  command = plan

  variables {
    cloudwatch_alarm_max_connections = 20000
  }

  expect_failures = [var.cloudwatch_alarm_max_connections]
}
