# Input validation: every run feeds one bad value and expects exactly that check to fail (offline, mocked AWS).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
}

variables {
  environment_suffix = "test"
  cidr               = "10.20.0.0/16"
  azs                = ["us-east-1a", "us-east-1b"]
  public_subnets     = ["10.20.0.0/24", "10.20.1.0/24"]
  private_subnets    = ["10.20.10.0/24", "10.20.11.0/24"]
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "valid_inputs_plan" {
  command = plan

  assert {
    condition     = length(aws_subnet.public) == 2 && length(aws_subnet.private) == 2
    error_message = "The baseline inputs must plan two AZs."
  }
}

################################################################################
# VPC
################################################################################

run "rejects_uppercase_suffix" {
  command = plan

  variables {
    environment_suffix = "Dev"
  }

  expect_failures = [var.environment_suffix]
}

run "rejects_suffix_with_leading_hyphen" {
  command = plan

  variables {
    environment_suffix = "-dev"
  }

  expect_failures = [var.environment_suffix]
}

run "rejects_suffix_with_underscore" {
  command = plan

  variables {
    environment_suffix = "pr_42"
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

run "accepts_suffix_of_21" {
  command = plan

  variables {
    environment_suffix = "pr-1234567890abcdefgh"
  }

  assert {
    condition     = aws_vpc.this.tags["Name"] == "vpc-pr-1234567890abcdefgh"
    error_message = "A 21-character suffix must be accepted."
  }
}

run "rejects_cidr_that_is_not_a_cidr" {
  command = plan

  variables {
    cidr = "10.20.0.0"
  }

  expect_failures = [var.cidr]
}

run "rejects_cidr_with_host_bits" {
  command = plan

  variables {
    cidr = "10.20.0.1/16"
  }

  expect_failures = [var.cidr]
}

run "rejects_cidr_larger_than_16" {
  command = plan

  variables {
    cidr = "10.0.0.0/8"
  }

  expect_failures = [var.cidr]
}

run "rejects_ipv6_cidr" {
  command = plan

  variables {
    cidr = "2001:db8::/56"
  }

  expect_failures = [var.cidr]
}

run "rejects_single_az" {
  command = plan

  variables {
    azs             = ["us-east-1a"]
    public_subnets  = ["10.20.0.0/24"]
    private_subnets = ["10.20.10.0/24"]
  }

  expect_failures = [var.azs]
}

run "rejects_duplicate_azs" {
  command = plan

  variables {
    azs = ["us-east-1a", "us-east-1a"]
  }

  expect_failures = [var.azs]
}

run "rejects_az_id_instead_of_name" {
  command = plan

  variables {
    azs = ["use1-az1", "use1-az2"]
  }

  expect_failures = [var.azs]
}

################################################################################
# Subnets (variable validations and the cross-variable preconditions on aws_vpc.this)
################################################################################

run "rejects_invalid_public_subnet_cidr" {
  command = plan

  variables {
    public_subnets = ["10.20.0.5/24", "10.20.1.0/24"]
  }

  expect_failures = [var.public_subnets]
}

run "rejects_duplicate_private_subnet_cidrs" {
  command = plan

  variables {
    private_subnets = ["10.20.10.0/24", "10.20.10.0/24"]
  }

  expect_failures = [var.private_subnets]
}

run "rejects_fewer_private_subnets_than_azs" {
  command = plan

  variables {
    private_subnets = ["10.20.10.0/24"]
  }

  expect_failures = [aws_vpc.this]
}

run "rejects_more_public_subnets_than_azs" {
  command = plan

  variables {
    public_subnets = ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"]
  }

  expect_failures = [aws_vpc.this]
}

run "rejects_subnet_outside_vpc" {
  command = plan

  variables {
    private_subnets = ["10.20.10.0/24", "10.99.11.0/24"]
  }

  expect_failures = [aws_vpc.this]
}

run "rejects_subnet_larger_than_vpc" {
  command = plan

  variables {
    cidr           = "10.20.0.0/20"
    public_subnets = ["10.20.0.0/16", "10.20.1.0/24"]
  }

  expect_failures = [aws_vpc.this]
}

run "rejects_overlapping_public_and_private_subnets" {
  command = plan

  variables {
    public_subnets  = ["10.20.0.0/23", "10.20.2.0/24"]
    private_subnets = ["10.20.1.0/24", "10.20.11.0/24"]
  }

  expect_failures = [aws_vpc.this]
}

################################################################################
# Flow Log
################################################################################

run "rejects_retention_not_allowed_by_cloudwatch" {
  command = plan

  variables {
    flow_log_retention_in_days = 31
  }

  expect_failures = [var.flow_log_retention_in_days]
}

run "rejects_never_expiring_retention" {
  command = plan

  variables {
    flow_log_retention_in_days = 0
  }

  expect_failures = [var.flow_log_retention_in_days]
}

run "rejects_lowercase_traffic_type" {
  command = plan

  variables {
    flow_log_traffic_type = "all"
  }

  expect_failures = [var.flow_log_traffic_type]
}

run "rejects_aggregation_interval" {
  command = plan

  variables {
    flow_log_max_aggregation_interval = 300
  }

  expect_failures = [var.flow_log_max_aggregation_interval]
}

run "rejects_kms_alias_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/trading"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_flow_log_without_kms_key" {
  command = plan

  variables {
    kms_key_arn = null
  }

  expect_failures = [aws_cloudwatch_log_group.flow_log]
}

run "accepts_no_kms_key_without_flow_log" {
  command = plan

  variables {
    kms_key_arn     = null
    enable_flow_log = false
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.flow_log) == 0 && length(aws_flow_log.this) == 0
    error_message = "Without a flow log the module needs no KMS key and creates no log group."
  }
}

run "rejects_bare_kms_key_id" {
  command = plan

  variables {
    kms_key_arn = "11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.kms_key_arn]
}
