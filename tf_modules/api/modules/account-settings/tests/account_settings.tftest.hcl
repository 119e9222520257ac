# Account-level API Gateway settings against a mocked AWS provider (offline).

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/role-apigateway-cloudwatch-dev"
    }
  }
}

variables {
  environment_suffix = "dev"
  tags               = { Project = "trading" }
}

run "defaults" {
  command = apply

  assert {
    condition     = aws_iam_role.cloudwatch.name == "role-apigateway-cloudwatch-dev" && output.cloudwatch_role_name == "role-apigateway-cloudwatch-dev"
    error_message = "The role must be named role-apigateway-cloudwatch-<suffix>."
  }
  assert {
    condition = jsondecode(aws_iam_role.cloudwatch.assume_role_policy).Statement == [{
      Sid       = "ApiGatewayAssumeRole"
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
    error_message = "Only apigateway.amazonaws.com may assume the role."
  }
  assert {
    condition     = aws_iam_role.cloudwatch.tags == tomap({ Project = "trading", Name = "role-apigateway-cloudwatch-dev" })
    error_message = "Role tags must merge var.tags with a Name tag."
  }
  assert {
    condition     = aws_iam_role.cloudwatch.permissions_boundary == null
    error_message = "No permissions boundary by default."
  }
  assert {
    condition = (
      aws_iam_role_policy_attachment.cloudwatch.role == "role-apigateway-cloudwatch-dev" &&
      aws_iam_role_policy_attachment.cloudwatch.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    )
    error_message = "The AWS managed AmazonAPIGatewayPushToCloudWatchLogs policy must be attached to the role."
  }
  assert {
    condition     = length(aws_api_gateway_account.this) == 1 && aws_api_gateway_account.this[0].cloudwatch_role_arn == "arn:aws:iam::123456789012:role/role-apigateway-cloudwatch-dev"
    error_message = "The API Gateway account settings must use the role."
  }
  assert {
    condition = (
      output.cloudwatch_role_arn == "arn:aws:iam::123456789012:role/role-apigateway-cloudwatch-dev" &&
      output.account_cloudwatch_role_arn == "arn:aws:iam::123456789012:role/role-apigateway-cloudwatch-dev"
    )
    error_message = "Outputs must expose the role ARN and the account setting."
  }
}

run "role_only" {
  command = plan

  variables {
    environment_suffix            = "prod"
    manage_account_settings       = false
    iam_role_permissions_boundary = "arn:aws:iam::123456789012:policy/boundary-prod"
  }

  assert {
    condition     = length(aws_api_gateway_account.this) == 0 && output.account_cloudwatch_role_arn == null
    error_message = "manage_account_settings = false must leave the account settings alone."
  }
  assert {
    condition     = aws_iam_role.cloudwatch.name == "role-apigateway-cloudwatch-prod" && aws_iam_role.cloudwatch.permissions_boundary == "arn:aws:iam::123456789012:policy/boundary-prod"
    error_message = "The role must follow the suffix and the permissions boundary."
  }
}

run "rejects_bad_suffix" {
  command = plan
  variables {
    environment_suffix = "Prod_1"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_long_suffix" {
  command = plan
  variables {
    environment_suffix = "a2345678901234567890bc"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_bad_permissions_boundary" {
  command = plan
  variables {
    iam_role_permissions_boundary = "boundary-prod"
  }
  expect_failures = [var.iam_role_permissions_boundary]
}
