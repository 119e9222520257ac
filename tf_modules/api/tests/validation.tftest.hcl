# Input validation: every constrained variable rejects bad values, and edge values that are valid pass.

mock_provider "aws" {}

variables {
  environment_suffix   = "dev"
  stage_name           = "dev"
  lambda_function_name = "lambda-trades-dev"
  lambda_invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-dev/invocations"
  kms_key_arn          = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555"
  # Without a domain the plan has no for_each over unknown ACM values; domain_name is still validated.
  create_custom_domain = false
}

run "accepts_edge_values" {
  command = plan

  variables {
    environment_suffix     = "a2345678901234567890b"
    stage_name             = "Prod_2-b"
    lambda_function_name   = "arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-dev"
    throttling_burst_limit = 1
    throttling_rate_limit  = 0.5
    logging_level          = "INFO"
    log_retention_in_days  = 3653
    domain_name            = "api.x-1.example.com"
    zone_id                = "R5QX1D8G2S7WY0ABCDEFGH"
    access_log_format      = "{\"id\":\"$context.extendedRequestId\"}"
  }

  assert {
    condition     = aws_api_gateway_rest_api.this.name == "api-a2345678901234567890b"
    error_message = "A 21-character suffix must be accepted."
  }
}

run "rejects_uppercase_suffix" {
  command = plan
  variables {
    environment_suffix = "Dev"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_leading_dash_suffix" {
  command = plan
  variables {
    environment_suffix = "-dev"
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

run "rejects_underscore_suffix" {
  command = plan
  variables {
    environment_suffix = "dev_1"
  }
  expect_failures = [var.environment_suffix]
}

run "rejects_other_authorization" {
  command = plan
  variables {
    trade_routes_authorization = "COGNITO_USER_POOLS"
  }
  expect_failures = [var.trade_routes_authorization]
}

run "rejects_lowercase_authorization" {
  command = plan
  variables {
    trade_routes_authorization = "aws_iam"
  }
  expect_failures = [var.trade_routes_authorization]
}

run "rejects_zero_burst" {
  command = plan
  variables {
    throttling_burst_limit = 0
  }
  expect_failures = [var.throttling_burst_limit]
}

run "rejects_fractional_burst" {
  command = plan
  variables {
    throttling_burst_limit = 1.5
  }
  expect_failures = [var.throttling_burst_limit]
}

run "rejects_zero_rate" {
  command = plan
  variables {
    throttling_rate_limit = 0
  }
  expect_failures = [var.throttling_rate_limit]
}

run "rejects_negative_rate" {
  command = plan
  variables {
    throttling_rate_limit = -10
  }
  expect_failures = [var.throttling_rate_limit]
}

run "rejects_unknown_logging_level" {
  command = plan
  variables {
    logging_level = "DEBUG"
  }
  expect_failures = [var.logging_level]
}

run "rejects_access_log_format_without_request_id" {
  command = plan
  variables {
    access_log_format = "$context.status $context.path"
  }
  expect_failures = [var.access_log_format]
}

run "rejects_kms_alias" {
  command = plan
  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/logs"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_bare_kms_key_id" {
  command = plan
  variables {
    kms_key_arn = "0a1b2c3d-0000-1111-2222-333344445555"
  }
  expect_failures = [var.kms_key_arn]
}

run "rejects_never_expiring_logs" {
  command = plan
  variables {
    log_retention_in_days = 0
  }
  expect_failures = [var.log_retention_in_days]
}

run "rejects_unsupported_retention" {
  command = plan
  variables {
    log_retention_in_days = 31
  }
  expect_failures = [var.log_retention_in_days]
}

run "rejects_stage_name_with_space" {
  command = plan
  variables {
    stage_name = "dev stage"
  }
  expect_failures = [var.stage_name]
}

run "rejects_function_arn_as_invoke_arn" {
  command = plan
  variables {
    lambda_invoke_arn = "arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-dev"
  }
  expect_failures = [var.lambda_invoke_arn]
}

run "rejects_bad_function_name" {
  command = plan
  variables {
    lambda_function_name = "lambda trades!"
  }
  expect_failures = [var.lambda_function_name]
}

run "rejects_url_as_domain" {
  command = plan
  variables {
    domain_name = "https://api.dev.example.com"
  }
  expect_failures = [var.domain_name]
}

run "rejects_uppercase_domain" {
  command = plan
  variables {
    domain_name = "API.dev.example.com"
  }
  expect_failures = [var.domain_name]
}

run "rejects_wildcard_domain" {
  command = plan
  variables {
    domain_name = "*.dev.example.com"
  }
  expect_failures = [var.domain_name]
}

run "rejects_trailing_dot_domain" {
  command = plan
  variables {
    domain_name = "api.dev.example.com."
  }
  expect_failures = [var.domain_name]
}

run "rejects_single_label_domain" {
  command = plan
  variables {
    domain_name = "localhost"
  }
  expect_failures = [var.domain_name]
}

run "rejects_zone_id_with_prefix" {
  command = plan
  variables {
    zone_id = "/hostedzone/Z0123456789ABCDEFGHIJ"
  }
  expect_failures = [var.zone_id]
}

run "rejects_latest_qualifier" {
  command = plan
  variables {
    lambda_qualifier = "$LATEST"
  }
  expect_failures = [var.lambda_qualifier]
}

run "rejects_qualifier_with_colon" {
  command = plan
  variables {
    lambda_qualifier = "live:1"
  }
  expect_failures = [var.lambda_qualifier]
}
