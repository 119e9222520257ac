# Behaviour of the module against a mocked AWS provider (offline). Runs share one state, in order.

mock_provider "aws" {
  mock_resource "aws_api_gateway_rest_api" {
    defaults = {
      id               = "a1b2c3d4e5"
      arn              = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5"
      execution_arn    = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
      root_resource_id = "root000001"
    }
  }

  mock_resource "aws_api_gateway_stage" {
    defaults = {
      arn        = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5/stages/dev"
      invoke_url = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev"
    }
  }

  # The validation records' for_each reads domain_validation_options at plan time, as the real provider allows.
  # Values known during plan must stay the same at apply, so every computed string is fixed here.
  mock_resource "aws_acm_certificate" {
    override_during = plan
    defaults = {
      arn                 = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
      id                  = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
      key_algorithm       = "RSA_2048"
      not_after           = "2026-01-01T00:00:00Z"
      not_before          = "2025-01-01T00:00:00Z"
      renewal_eligibility = "INELIGIBLE"
      status              = "ISSUED"
      type                = "AMAZON_ISSUED"
      domain_validation_options = [{
        domain_name           = "api.dev.example.com"
        resource_record_name  = "_abc.api.dev.example.com."
        resource_record_type  = "CNAME"
        resource_record_value = "_def.acm-validations.aws."
      }]
    }
  }

  # The provider validates the stage's destination_arn as an ARN, even under a mock.
  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_api_gateway_domain_name" {
    defaults = {
      regional_domain_name = "d-abc123.execute-api.us-east-1.amazonaws.com"
      regional_zone_id     = "Z1UJRXOUMOOFQ8"
    }
  }
}

variables {
  environment_suffix   = "dev"
  stage_name           = "dev"
  lambda_function_name = "lambda-trades-dev"
  lambda_invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-dev/invocations"
  kms_key_arn          = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-1111-2222-333344445555"
  domain_name          = "api.dev.example.com"
  zone_id              = "Z0123456789ABCDEFGHIJ"
  tags                 = { Project = "trading", Environment = "dev" }
}

run "defaults" {
  command = apply

  # REST API
  assert {
    condition     = aws_api_gateway_rest_api.this.name == "api-dev"
    error_message = "REST API must be named api-<suffix>."
  }
  assert {
    condition     = aws_api_gateway_rest_api.this.endpoint_configuration[0].types == tolist(["REGIONAL"])
    error_message = "REST API must be REGIONAL."
  }
  assert {
    condition     = aws_api_gateway_rest_api.this.tags == tomap({ Project = "trading", Environment = "dev", Name = "api-dev" })
    error_message = "REST API tags must merge var.tags with a Name tag."
  }

  # Resources and routes
  assert {
    condition     = aws_api_gateway_resource.trades.path_part == "trades" && aws_api_gateway_resource.trades.parent_id == "root000001"
    error_message = "/trades must hang off the root resource."
  }
  assert {
    condition     = aws_api_gateway_resource.trade_by_id.path_part == "{id}" && aws_api_gateway_resource.trade_by_id.parent_id == aws_api_gateway_resource.trades.id
    error_message = "/trades/{id} must hang off /trades."
  }
  assert {
    condition     = aws_api_gateway_resource.health.path_part == "health" && aws_api_gateway_resource.health.parent_id == "root000001"
    error_message = "/health must hang off the root resource."
  }
  assert {
    condition     = toset(keys(aws_api_gateway_method.route)) == toset(["POST /trades", "GET /trades/{id}", "GET /health"])
    error_message = "Exactly three routes must exist: POST /trades, GET /trades/{id}, GET /health."
  }
  assert {
    condition     = toset(output.route_keys) == toset(["POST /trades", "GET /trades/{id}", "GET /health"])
    error_message = "route_keys output must list the three routes."
  }
  assert {
    condition = (
      aws_api_gateway_method.route["POST /trades"].http_method == "POST" &&
      aws_api_gateway_method.route["POST /trades"].resource_id == aws_api_gateway_resource.trades.id &&
      aws_api_gateway_method.route["GET /trades/{id}"].http_method == "GET" &&
      aws_api_gateway_method.route["GET /trades/{id}"].resource_id == aws_api_gateway_resource.trade_by_id.id &&
      aws_api_gateway_method.route["GET /health"].http_method == "GET" &&
      aws_api_gateway_method.route["GET /health"].resource_id == aws_api_gateway_resource.health.id
    )
    error_message = "Each route must use its HTTP method on its resource."
  }
  assert {
    condition     = aws_api_gateway_method.route["GET /trades/{id}"].request_parameters == tomap({ "method.request.path.id" = true })
    error_message = "GET /trades/{id} must declare the id path parameter."
  }
  assert {
    condition = (
      aws_api_gateway_method.route["POST /trades"].authorization == "AWS_IAM" &&
      aws_api_gateway_method.route["GET /trades/{id}"].authorization == "AWS_IAM"
    )
    error_message = "Trade routes must default to AWS_IAM authorization."
  }
  assert {
    condition     = aws_api_gateway_method.route["GET /health"].authorization == "NONE"
    error_message = "/health must be open (NONE)."
  }
  assert {
    condition     = length(aws_api_gateway_integration.route) == 3
    error_message = "Every route must have an integration."
  }
  assert {
    condition = alltrue([
      for key, integration in aws_api_gateway_integration.route :
      integration.type == "AWS_PROXY" &&
      integration.integration_http_method == "POST" &&
      integration.uri == var.lambda_invoke_arn &&
      integration.http_method == aws_api_gateway_method.route[key].http_method &&
      integration.resource_id == aws_api_gateway_method.route[key].resource_id
    ])
    error_message = "Every integration must be an AWS_PROXY POST to the Lambda invoke ARN on its route's method."
  }

  # Lambda permission
  assert {
    condition = (
      aws_lambda_permission.api_gateway.principal == "apigateway.amazonaws.com" &&
      aws_lambda_permission.api_gateway.action == "lambda:InvokeFunction" &&
      aws_lambda_permission.api_gateway.function_name == "lambda-trades-dev"
    )
    error_message = "The Lambda permission must let API Gateway invoke the given function."
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*/*"
    error_message = "The Lambda permission must be scoped to this API's execution ARN (/*/*)."
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.qualifier == null && output.lambda_permission_qualifier == null
    error_message = "Without lambda_qualifier the permission covers the unqualified function."
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.statement_id == "AllowInvokeFromApiGateway-api-dev" && output.lambda_permission_statement_id == "AllowInvokeFromApiGateway-api-dev"
    error_message = "The Lambda permission statement id must contain the suffix."
  }

  # Deployment and stage
  assert {
    condition     = length(aws_api_gateway_deployment.this.triggers.redeployment) == 40 && output.deployment_trigger == aws_api_gateway_deployment.this.triggers.redeployment
    error_message = "The deployment must carry a sha1 redeployment trigger."
  }
  assert {
    condition     = aws_api_gateway_stage.this.stage_name == "dev" && output.stage_name == "dev"
    error_message = "The stage must be named after stage_name."
  }
  assert {
    condition     = aws_api_gateway_stage.this.deployment_id == aws_api_gateway_deployment.this.id
    error_message = "The stage must point at the module's deployment."
  }
  assert {
    condition     = aws_api_gateway_stage.this.xray_tracing_enabled == true
    error_message = "X-Ray tracing must be enabled on the stage."
  }
  assert {
    condition     = aws_api_gateway_stage.this.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access.arn
    error_message = "Access logs must go to the module-owned log group."
  }
  assert {
    condition = (
      jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format).requestId == "$context.requestId" &&
      jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format).status == "$context.status" &&
      jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format).xrayTraceId == "$context.xrayTraceId"
    )
    error_message = "The default access log format must be JSON with requestId, status and xrayTraceId."
  }
  assert {
    condition     = aws_api_gateway_stage.this.tags["Name"] == "stage-api-dev" && aws_api_gateway_stage.this.tags["Project"] == "trading"
    error_message = "Stage tags must merge var.tags with a Name tag."
  }
  assert {
    condition     = aws_api_gateway_method_settings.all.method_path == "*/*" && aws_api_gateway_method_settings.all.stage_name == "dev"
    error_message = "Method settings must cover */* of the stage."
  }
  assert {
    condition = (
      aws_api_gateway_method_settings.all.settings[0].metrics_enabled == true &&
      aws_api_gateway_method_settings.all.settings[0].logging_level == "ERROR" &&
      aws_api_gateway_method_settings.all.settings[0].data_trace_enabled == false &&
      aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == 200 &&
      aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == 100
    )
    error_message = "Default method settings: metrics on, ERROR logging, no data trace, burst 200, rate 100."
  }
  assert {
    condition     = output.stage_invoke_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev"
    error_message = "stage_invoke_url must come from the stage."
  }

  # Log groups
  assert {
    condition = (
      aws_cloudwatch_log_group.access.name == "/aws/apigateway/api-dev" &&
      aws_cloudwatch_log_group.access.retention_in_days == 30 &&
      aws_cloudwatch_log_group.access.kms_key_id == var.kms_key_arn
    )
    error_message = "Access log group: /aws/apigateway/api-<suffix>, 30 days, encrypted with the given key."
  }
  assert {
    condition     = output.access_log_group_name == "/aws/apigateway/api-dev" && output.access_log_group_arn == aws_cloudwatch_log_group.access.arn
    error_message = "Access log group outputs must describe the access log group."
  }
  assert {
    condition = (
      length(aws_cloudwatch_log_group.execution) == 1 &&
      aws_cloudwatch_log_group.execution[0].name == "API-Gateway-Execution-Logs_a1b2c3d4e5/dev" &&
      aws_cloudwatch_log_group.execution[0].retention_in_days == 30 &&
      aws_cloudwatch_log_group.execution[0].kms_key_id == var.kms_key_arn
    )
    error_message = "The execution log group API Gateway writes to must be module-owned, 30 days, encrypted."
  }
  assert {
    condition     = output.execution_log_group_name == "API-Gateway-Execution-Logs_a1b2c3d4e5/dev"
    error_message = "execution_log_group_name must name the execution log group."
  }

  # Custom domain
  assert {
    condition = (
      length(aws_acm_certificate.this) == 1 &&
      aws_acm_certificate.this[0].domain_name == "api.dev.example.com" &&
      aws_acm_certificate.this[0].validation_method == "DNS"
    )
    error_message = "One DNS-validated certificate for the domain must exist."
  }
  assert {
    condition     = keys(aws_route53_record.certificate_validation) == ["api.dev.example.com"]
    error_message = "Validation records must be keyed by domain name."
  }
  assert {
    condition = (
      aws_route53_record.certificate_validation["api.dev.example.com"].zone_id == "Z0123456789ABCDEFGHIJ" &&
      aws_route53_record.certificate_validation["api.dev.example.com"].name == "_abc.api.dev.example.com." &&
      aws_route53_record.certificate_validation["api.dev.example.com"].type == "CNAME" &&
      aws_route53_record.certificate_validation["api.dev.example.com"].records == toset(["_def.acm-validations.aws."]) &&
      aws_route53_record.certificate_validation["api.dev.example.com"].allow_overwrite == true
    )
    error_message = "The validation record must carry ACM's CNAME in the given zone, with allow_overwrite."
  }
  assert {
    condition     = aws_acm_certificate_validation.this[0].certificate_arn == aws_acm_certificate.this[0].arn
    error_message = "The certificate validation must wait for the module's certificate."
  }
  assert {
    condition = (
      aws_api_gateway_domain_name.this[0].domain_name == "api.dev.example.com" &&
      aws_api_gateway_domain_name.this[0].security_policy == "TLS_1_2" &&
      aws_api_gateway_domain_name.this[0].endpoint_configuration[0].types == tolist(["REGIONAL"]) &&
      aws_api_gateway_domain_name.this[0].regional_certificate_arn == "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    )
    error_message = "The custom domain must be REGIONAL, TLS 1.2, with the validated certificate."
  }
  assert {
    condition = (
      aws_api_gateway_base_path_mapping.this[0].domain_name == "api.dev.example.com" &&
      aws_api_gateway_base_path_mapping.this[0].stage_name == "dev" &&
      aws_api_gateway_base_path_mapping.this[0].api_id == "a1b2c3d4e5"
    )
    error_message = "The base path mapping must map the domain to the stage."
  }
  assert {
    condition = (
      output.custom_domain_url == "https://api.dev.example.com/" &&
      output.domain_name == "api.dev.example.com" &&
      output.domain_regional_domain_name == "d-abc123.execute-api.us-east-1.amazonaws.com" &&
      output.domain_regional_zone_id == "Z1UJRXOUMOOFQ8" &&
      output.certificate_arn == "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    )
    error_message = "Custom domain outputs must describe the domain, its regional target and the certificate."
  }
}

run "unchanged_config_keeps_deployment" {
  command = apply

  assert {
    condition     = output.deployment_trigger == run.defaults.deployment_trigger && output.deployment_id == run.defaults.deployment_id
    error_message = "Re-applying the same configuration must not change the redeployment trigger."
  }
}

run "alias_integration" {
  command = apply

  variables {
    lambda_invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-dev:live/invocations"
    lambda_qualifier  = "live"
  }

  assert {
    condition     = alltrue([for integration in aws_api_gateway_integration.route : integration.uri == var.lambda_invoke_arn])
    error_message = "Every route must integrate with the alias's invoke ARN."
  }
  assert {
    condition = (
      aws_lambda_permission.api_gateway.qualifier == "live" &&
      aws_lambda_permission.api_gateway.function_name == "lambda-trades-dev" &&
      output.lambda_permission_qualifier == "live"
    )
    error_message = "The permission must be scoped to the alias the integrations invoke."
  }
  assert {
    condition     = output.deployment_trigger != run.defaults.deployment_trigger
    error_message = "Moving the integrations to the alias must make a new deployment."
  }
}

run "alias_invoke_arn_needs_its_qualifier" {
  command = plan

  variables {
    lambda_invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-dev:live/invocations"
  }

  expect_failures = [aws_lambda_permission.api_gateway]
}

run "qualifier_must_match_the_invoke_arn" {
  command = plan

  variables {
    lambda_invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-dev:live/invocations"
    lambda_qualifier  = "blue"
  }

  expect_failures = [aws_lambda_permission.api_gateway]
}

run "trade_routes_open" {
  command = apply

  variables {
    trade_routes_authorization = "NONE"
  }

  assert {
    condition     = alltrue([for method in aws_api_gateway_method.route : method.authorization == "NONE"])
    error_message = "With trade_routes_authorization = NONE every route must be NONE."
  }
  assert {
    condition     = output.deployment_trigger != run.defaults.deployment_trigger
    error_message = "Changing a method's authorization must change the redeployment trigger (a new deployment)."
  }

}

run "new_lambda_redeploys" {
  command = apply

  variables {
    trade_routes_authorization = "NONE"
    lambda_function_name       = "lambda-trades-v2-dev"
    lambda_invoke_arn          = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:lambda-trades-v2-dev/invocations"
  }

  assert {
    condition     = alltrue([for integration in aws_api_gateway_integration.route : integration.uri == var.lambda_invoke_arn])
    error_message = "Every integration must follow lambda_invoke_arn."
  }
  assert {
    condition     = aws_lambda_permission.api_gateway.function_name == "lambda-trades-v2-dev"
    error_message = "The Lambda permission must follow lambda_function_name."
  }
  assert {
    condition     = output.deployment_trigger != run.trade_routes_open.deployment_trigger
    error_message = "Changing the integration URI must change the redeployment trigger (a new deployment)."
  }
}

run "custom_stage_settings" {
  command = apply

  variables {
    stage_name             = "prod"
    logging_level          = "INFO"
    throttling_burst_limit = 50
    throttling_rate_limit  = 25.5
    log_retention_in_days  = 90
    access_log_format      = "$context.requestId $context.status"
  }

  assert {
    condition = (
      aws_api_gateway_method_settings.all.settings[0].logging_level == "INFO" &&
      aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == 50 &&
      aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == 25.5
    )
    error_message = "Method settings must follow logging_level and the throttling inputs."
  }
  assert {
    condition     = aws_cloudwatch_log_group.access.retention_in_days == 90 && aws_cloudwatch_log_group.execution[0].retention_in_days == 90
    error_message = "Both log groups must follow log_retention_in_days."
  }
  assert {
    condition     = aws_api_gateway_stage.this.access_log_settings[0].format == "$context.requestId $context.status"
    error_message = "access_log_format must replace the default format."
  }
  assert {
    condition     = aws_api_gateway_stage.this.stage_name == "prod" && aws_cloudwatch_log_group.execution[0].name == "API-Gateway-Execution-Logs_a1b2c3d4e5/prod"
    error_message = "Stage and execution log group must follow stage_name."
  }
  assert {
    condition     = aws_api_gateway_base_path_mapping.this[0].stage_name == "prod"
    error_message = "The base path mapping must follow the stage."
  }
}

run "logging_off" {
  command = apply

  variables {
    logging_level = "OFF"
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.execution) == 0 && output.execution_log_group_name == null
    error_message = "Without execution logging there must be no execution log group."
  }
  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].logging_level == "OFF" && aws_api_gateway_method_settings.all.settings[0].metrics_enabled == true
    error_message = "logging_level OFF must keep metrics on."
  }
  assert {
    condition     = aws_cloudwatch_log_group.access.name == "/aws/apigateway/api-dev"
    error_message = "Access logs stay on when execution logging is off."
  }
}

run "other_suffix" {
  command = apply

  variables {
    environment_suffix = "staging"
    stage_name         = "staging"
    domain_name        = "api.staging.example.com"
  }

  assert {
    condition = (
      aws_api_gateway_rest_api.this.name == "api-staging" &&
      aws_cloudwatch_log_group.access.name == "/aws/apigateway/api-staging" &&
      aws_lambda_permission.api_gateway.statement_id == "AllowInvokeFromApiGateway-api-staging" &&
      aws_acm_certificate.this[0].tags["Name"] == "cert-api-staging" &&
      aws_api_gateway_domain_name.this[0].tags["Name"] == "domain-api-staging"
    )
    error_message = "Every name must follow <type>-<environment_suffix>."
  }
}

run "no_custom_domain" {
  command = apply

  variables {
    create_custom_domain = false
    domain_name          = null
    zone_id              = null
  }

  assert {
    condition = (
      length(aws_acm_certificate.this) == 0 &&
      length(aws_route53_record.certificate_validation) == 0 &&
      length(aws_acm_certificate_validation.this) == 0 &&
      length(aws_api_gateway_domain_name.this) == 0 &&
      length(aws_api_gateway_base_path_mapping.this) == 0
    )
    error_message = "Without a custom domain there must be no certificate, record, domain or mapping."
  }
  assert {
    condition = (
      output.certificate_arn == null &&
      output.domain_name == null &&
      output.domain_regional_domain_name == null &&
      output.domain_regional_zone_id == null &&
      output.custom_domain_url == null
    )
    error_message = "Custom domain outputs must be null without a custom domain."
  }
  assert {
    condition     = output.stage_invoke_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev" && length(aws_api_gateway_method.route) == 3
    error_message = "The API and stage must not depend on the custom domain."
  }
}

run "custom_domain_requires_domain_and_zone" {
  command = plan

  variables {
    domain_name = null
  }

  expect_failures = [aws_acm_certificate.this]
}

run "custom_domain_requires_zone" {
  command = plan

  variables {
    zone_id = null
  }

  expect_failures = [aws_acm_certificate.this]
}
